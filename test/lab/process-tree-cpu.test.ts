// processTreeCpuSeconds (src/lab/netns-lab.ts; bench:idle counts a daemon's carrier watch with it): a descendant's
// CPU counts while it lives — a grandchild too — and after it exited and was reaped. No root needed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { processCpuSeconds, processTreeCpuSeconds } from '../../src/lab/netns-lab.ts';

/** CPU the grandchild burns (measured by itself), then it says so and waits for stdin to close. */
const BURN_S = 0.3;
/** /proc counts in clock ticks (10 ms): allow a tick per process. */
const TICKS_S = 0.03;
const BURNER = `const t=process.cpuUsage();while((process.cpuUsage(t).user+process.cpuUsage(t).system)/1e6<${BURN_S});process.stdout.write('burnt\\n');process.stdin.resume();process.stdin.on('end',()=>process.exit(0))`;

describe('processTreeCpuSeconds', () => {
  test('counts a live grandchild and, once reaped, an exited one', async () => {
    const own = () => processCpuSeconds(process.pid);
    const others = () => processTreeCpuSeconds(process.pid) - own();
    const before = others();
    // sh is the child, node the grandchild (sh waits for it: no exec, two commands).
    const child = spawn('sh', ['-c', `"${process.execPath}" -e "${BURNER}"; true`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    await once(child.stdout, 'data');
    assert.ok(others() - before >= BURN_S - TICKS_S, `live grandchild counted: ${others() - before} s`);
    child.stdin.end();
    await once(child, 'exit');
    assert.ok(others() - before >= BURN_S - TICKS_S, `reaped child counted: ${others() - before} s`);
  });
});
