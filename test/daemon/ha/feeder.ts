// A stand-in daemon for the watchdog tests: connects to (or starts) the supervisor, starts the resources listed in
// argv[2] (JSON) in order, marks them active and feeds every 20 ms until it is killed. Prints one JSON line
// `{pgid, supervisorPid}` (pgid: the first exec resource's process group) once all that is done.
import { ResourceRunner } from '../../../src/daemon/ha/resource-runner.ts';
import { SupervisedWatchdog } from '../../../src/daemon/ha/watchdog.ts';
import type { HaResourceSpec } from '../../../src/ha/contract.ts';

const [specsJson, socketPath, pidFile, command] = process.argv.slice(2);
const specs = JSON.parse(specsJson!) as HaResourceSpec[];
const runner = new ResourceRunner();
const watchdog = await SupervisedWatchdog.start({
  socketPath: socketPath!,
  pidFile: pidFile!,
  runner,
  timings: { fenceTimeoutMs: 5_000, feedIntervalMs: 1_250 },
  command: JSON.parse(command!) as string[],
  log: (level, message) => process.stderr.write(`${level} ${message}\n`),
});
watchdog.setActive(specs);
watchdog.feed();
for (const spec of specs) {
  const started = await runner.run('start', spec);
  if (started.exitCode !== 0) throw new Error(`${spec.sid}: start failed: ${started.output}`);
}
setInterval(() => watchdog.feed(), 20);
const exec = specs.find((spec) => spec.type === 'exec');
const pgid = exec ? runner.processGroups(exec.sid)[0] : undefined;
process.stdout.write(`${JSON.stringify({ pgid, supervisorPid: watchdog.supervisorPid })}\n`);
