// The README's redundant-link drill, run as written: the commands are read from README.md itself (so the README
// cannot drift), each run with `corolink` on the PATH as an installed one would be, and its outcome checked — the
// exit code a line's comment names (`# exit 1: …`, else 0) and what the step is for.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { readState } from '../../src/lab/lab-state.ts';
import { NetnsLab } from '../../src/lab/netns-lab.ts';
import { healthy, linkState, membershipLogTail, skipReason } from './helpers.ts';

const SECTION = '## The redundant-link drill (lab, root)';
/** Longest a step may take (lab up builds 3 hosts; link add probes and waits for the link). */
const STEP_LIMIT_MS = 180_000;

interface Step {
  line: string;
  args: string[];
  exitCode: number;
}

/** The first ```sh block after SECTION: one command per line, a trailing `# comment`, `exit N` in it. */
function drillSteps(readme: string): Step[] {
  const start = readme.indexOf(SECTION);
  assert.ok(start >= 0, `README.md has the section "${SECTION}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  assert.ok(block, 'the section has a ```sh block');
  return block
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .map((line) => {
      const [command = '', comment = ''] = line.split(/\s+#\s+/, 2);
      // Plain words only: what the test splits on spaces is exactly what a shell would run.
      assert.doesNotMatch(command, /["'$`\\|;&<>]/, `a plain command line: ${command}`);
      const [program, ...args] = command.trim().split(/\s+/);
      assert.equal(program, 'corolink', `every step runs corolink: ${line}`);
      return { line: command.trim(), args, exitCode: Number(/^exit (\d+)/.exec(comment)?.[1] ?? 0) };
    });
}

function run(step: Step, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('corolink', step.args, { env, timeout: STEP_LIMIT_MS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

describe('the README drill, command by command', { skip: skipReason }, () => {
  const root = mkdtempSync(join(tmpdir(), 'corolink-drill-'));
  const dir = join(root, 'lab');
  // `corolink` on the PATH, as after `npm link` or `npm install -g`: the checkout's own entry point.
  const bin = join(root, 'bin');
  const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, COROLINK_LAB_DIR: dir };

  after(async () => {
    if (readState(dir)) await NetnsLab.open(dir).down();
    rmSync(root, { recursive: true, force: true });
  });

  test('create on link0, add link1 live, verify, pull a cable, watch the log, all as the README says', async () => {
    const steps = drillSteps(readFileSync('README.md', 'utf8'));
    mkdirSync(bin);
    symlinkSync(resolve('bin/corolink.mjs'), join(bin, 'corolink'));
    let ringId: string | undefined;
    const verbs: string[] = [];
    for (const step of steps) {
      const result = await run(step, env);
      const output = `$ ${step.line}\n${result.stdout}${result.stderr}`;
      assert.equal(result.code, step.exitCode, output);
      const words = step.args.filter((a) => !a.startsWith('-') && !/^\d/.test(a));
      const verb = words
        .slice(words[0] === 'lab' && words[1] === 'exec' ? 2 : 0)
        .slice(0, 3)
        .join(' ');
      verbs.push(verb);
      const lab = () => NetnsLab.open(dir);
      if (verb.startsWith('lab up')) {
        // The daemons are up when `lab up` returns; the membership forms within seconds.
        const [status] = await lab().waitFor(healthy(3), { timeoutMs: 60_000 });
        ringId = status!.ring_id;
      } else if (verb === 'corolink status') {
        assert.match(result.stdout, /Quorate: +Yes/, output);
      } else if (verb === 'corolink link add' && step.args.includes('--dry-run')) {
        assert.match(result.stdout, /^Reachability probe of link 1 \(UDP port \d+\):$/m, output);
        assert.equal(result.stdout.match(/: reachable, rtt \d+\.\d{3} ms$/gm)?.length, 3, output);
        assert.equal((await lab().status(1)).cluster.config_version, 1, 'a dry run changes nothing');
      } else if (verb === 'corolink link add') {
        assert.match(result.stdout, /config_version 1 → 2: applied/, output);
        assert.match(result.stdout, /n3 link1: UP/, output);
      } else if (verb === 'corolink links' && step.exitCode === 0) {
        assert.equal(
          result.stdout.match(/^0x0000000[23] +n[23] +link[01] +198\.18\.[12]0\.[23] +UP /gm)?.length,
          4,
          output,
        );
      } else if (verb.startsWith('lab cut')) {
        // What "within a second" means to the test: it waits (bounded) for node 1 to see it, as the admin would.
        await lab().waitFor((s) => linkState(s, 3, 0) === 'DOWN' && linkState(s, 3, 1) === 'UP', {
          nodes: [1],
          timeoutMs: 15_000,
        });
      } else if (verb === 'corolink links') {
        assert.match(result.stdout, /^0x00000003 +n3 +link0 +198\.18\.10\.3 +DOWN /m, output);
        assert.match(result.stdout, /^0x00000003 +n3 +link1 +198\.18\.20\.3 +UP +yes /m, output);
      } else if (verb === 'corolink logs') {
        assert.match(result.stdout, /\[KNET {2}\] link: host: 3 link: 0 is down/, output);
      } else if (verb === 'corolink cmap stats.knet.node3') {
        assert.match(result.stdout, /^stats\.knet\.node3\.link0\.connected \(u8\) = 0$/m, output);
        assert.match(result.stdout, /^stats\.knet\.node3\.link1\.connected \(u8\) = 1$/m, output);
        assert.match(result.stdout, /^stats\.knet\.node3\.link0\.down_count \(u32\) = 1$/m, output);
      } else if (verb === 'lab status') {
        const statuses = await lab().statusAll();
        const why = () =>
          lab()
            .nodeids.map((n) => membershipLogTail(lab(), n, 12))
            .join('\n');
        for (const status of Object.values(statuses)) {
          const logs = status?.ring_id === ringId ? '' : `\n${why()}`;
          assert.equal(status?.ring_id, ringId, `no membership change since the cluster formed\n${output}${logs}`);
          assert.equal(status?.members.length, 3, output);
          assert.equal(status?.quorum.quorate, true, output);
        }
      } else if (verb === 'lab down') {
        assert.equal(existsSync(dir), false, 'the lab directory is gone');
      }
    }
    // The drill the course gives: create on link0, add link1, verify, pull a cable, watch the log.
    for (const needed of ['lab up', 'corolink link add', 'corolink links', 'lab cut', 'corolink logs', 'lab down']) {
      assert.ok(verbs.includes(needed), `the README drill has a "${needed}" step (${verbs.join(', ')})`);
    }
  });
});
