// `npm run bench:log`: a burst of 100,000 log lines to the log file, and the longest the event loop was blocked
// meanwhile (target: ≤ 20 ms). The lines come 1,000 per macrotask, as a busy core's steps emit them; the loop's
// blocks are measured with perf_hooks.monitorEventLoopDelay from the first line until the last reached the file,
// the garbage collector's pauses meanwhile with a PerformanceObserver of 'gc' entries.
// The same burst written the old way (one appendFileSync per line) is the baseline. Last line: one JSON object.
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { formatLogLine, Logger } from '../src/daemon/log.ts';
import { loggingSetup } from '../src/daemon/log-config.ts';

const LINES = 100_000;
const LINES_PER_TASK = 1_000;
const TARGET_BLOCK_MS = 20;

const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Run {
  maxBlockMs: number;
  p99BlockMs: number;
  totalMs: number;
  bytes: number;
  /** Collections during the burst, and their pauses summed. */
  gcCount: number;
  gcMs: number;
}

async function measure(path: string, write: (i: number) => void, drain: () => Promise<void>): Promise<Run> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const gc = { count: 0, ms: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.ms += entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const started = performance.now();
  for (let i = 0; i < LINES; i++) {
    write(i);
    if ((i + 1) % LINES_PER_TASK === 0) await nextTask();
  }
  await drain();
  const totalMs = performance.now() - started;
  histogram.disable();
  // Entries are delivered in a later task: take them before disconnecting.
  await nextTask();
  gcObserver.disconnect();
  // The histogram holds the delays of its 1 ms timer: a delay is how long the loop could not run it.
  return {
    maxBlockMs: Number((histogram.max / 1e6).toFixed(1)),
    p99BlockMs: Number((histogram.percentile(99) / 1e6).toFixed(1)),
    totalMs: Math.round(totalMs),
    bytes: statSync(path).size,
    gcCount: gc.count,
    gcMs: Math.round(gc.ms),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'corolink-bench-log-'));
try {
  const message = (i: number) => `link 1 of node 3 is up again after ${i} pings (latency 0.21 ms)`;
  const asyncPath = join(dir, 'async.log');
  const { options } = loggingSetup({ to_logfile: true, logfile: asyncPath }, [], { forceStderr: false });
  const logger = new Logger({ ...options, host: 'bench' });
  const async = await measure(
    asyncPath,
    (i) => logger.log('notice', 'KNET', message(i)),
    () => logger.close(),
  );
  const syncPath = join(dir, 'sync.log');
  const sync = await measure(
    syncPath,
    (i) =>
      appendFileSync(syncPath, `${formatLogLine(Date.now(), 'notice', 'KNET', message(i), process.pid, 'bench')}\n`),
    async () => {},
  );
  console.log(`${LINES} lines, ${LINES_PER_TASK} per task, to a log file:`);
  console.log(
    `  sonic-boom (async):     longest block ${async.maxBlockMs} ms, p99 ${async.p99BlockMs} ms, ${async.totalMs} ms until on disk, ${async.gcCount} collections pausing ${async.gcMs} ms`,
  );
  console.log(
    `  appendFileSync (sync):  longest block ${sync.maxBlockMs} ms, p99 ${sync.p99BlockMs} ms, ${sync.totalMs} ms until on disk, ${sync.gcCount} collections pausing ${sync.gcMs} ms`,
  );
  if (async.bytes !== sync.bytes)
    throw new Error(`the async file has ${async.bytes} bytes, the sync one ${sync.bytes}`);
  console.log(
    JSON.stringify({
      lines: LINES,
      lines_per_task: LINES_PER_TASK,
      max_block_ms: async.maxBlockMs,
      p99_block_ms: async.p99BlockMs,
      total_ms: async.totalMs,
      gc_count: async.gcCount,
      gc_ms: async.gcMs,
      target_max_block_ms: TARGET_BLOCK_MS,
      within_target: async.maxBlockMs <= TARGET_BLOCK_MS,
      sync_max_block_ms: sync.maxBlockMs,
      sync_p99_block_ms: sync.p99BlockMs,
      sync_total_ms: sync.totalMs,
      sync_gc_count: sync.gcCount,
      sync_gc_ms: sync.gcMs,
      bytes: async.bytes,
      // On a shared machine the longest block is mostly the wait for a core: read it with the load.
      load_average_1m: Number(loadavg()[0]!.toFixed(1)),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
