// A stand-in daemon for the watchdog tests: starts the exec resource described by argv[2] (JSON), connects to (or
// starts) the supervisor, marks the resource active and feeds every 20 ms until it is killed. Prints one JSON line
// `{pgid, supervisorPid}` once all that is done.
import { ResourceRunner } from '../../../src/daemon/ha/resource-runner.ts';
import { SupervisedWatchdog } from '../../../src/daemon/ha/watchdog.ts';
import type { HaResourceSpec } from '../../../src/ha/contract.ts';

const [specJson, socketPath, pidFile, command] = process.argv.slice(2);
const spec = JSON.parse(specJson!) as HaResourceSpec;
const runner = new ResourceRunner();
const watchdog = await SupervisedWatchdog.start({
  socketPath: socketPath!,
  pidFile: pidFile!,
  runner,
  fenceTimeoutMs: 5_000,
  command: JSON.parse(command!) as string[],
  log: (level, message) => process.stderr.write(`${level} ${message}\n`),
});
watchdog.setActive([spec]);
watchdog.feed();
const started = await runner.run('start', spec);
if (started.exitCode !== 0) throw new Error(`start failed: ${started.output}`);
setInterval(() => watchdog.feed(), 20);
process.stdout.write(
  `${JSON.stringify({ pgid: runner.processGroups(spec.sid)[0], supervisorPid: watchdog.supervisorPid })}\n`,
);
