// `corolink lab http-echo` and `corolink lab poll --here` on loopback (no lab, no root): the poller records every
// request and the name the server answered with; text output summarizes; bad options are one line, exit 64.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { PollSample } from '../../src/lab/poller.ts';

const exec = promisify(execFile);
const corolink = (...args: string[]) =>
  exec(process.execPath, ['bin/corolink.mjs', ...args], { timeout: 60_000, encoding: 'utf8' });

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

test('lab http-echo answers with its name; lab poll --here records who answered', async () => {
  const port = await freePort();
  const echo = spawn(
    process.execPath,
    ['bin/corolink.mjs', 'lab', 'http-echo', '--address', '127.0.0.1', '--port', String(port), '--name', 'n7'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => echo.once('exit', resolve));
  try {
    const url = `http://127.0.0.1:${port}/`;
    // Until it listens, requests fail; poll in rounds of 0.5 s until one is answered (bounded).
    const deadline = Date.now() + 20_000;
    let samples: PollSample[] = [];
    while (!samples.some((s) => s.node === 'n7')) {
      assert.ok(Date.now() < deadline, 'http-echo answered within 20 s');
      samples = JSON.parse(
        (await corolink('lab', 'poll', url, '--here', '--interval', '50', '--for', '0.5s', '--json')).stdout,
      ) as PollSample[];
    }
    const { stdout } = await corolink('lab', 'poll', url, '--here', '--interval', '50', '--for', '0.5');
    assert.match(stdout, /^10 requests, 0 failed; answered by n7 10\n/);
    await assert.rejects(
      corolink('lab', 'poll', url, '--here', '--for', 'soon'),
      (error: { code: number; stderr: string }) => {
        assert.equal(error.code, 64);
        assert.match(error.stderr, /--for must be/);
        return true;
      },
    );
  } finally {
    echo.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'http-echo leaves on SIGTERM');
});
