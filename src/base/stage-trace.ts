/**
 * Stage trace (diagnostic, off unless COROLINK_STAGE_TRACE names a file prefix): stamps the moments a message
 * passes through this process — IPC read, queued in Totem, token in and out, datagram handed to the socket,
 * delivery, IPC write — with CLOCK_MONOTONIC (`process.hrtime.bigint()`, the same clock in every process of the
 * machine), kept in memory and written to `<prefix>.<pid>` when the process exits, so a bench can merge the files of
 * three daemons and its client into one timeline per round trip (bench/stage-report.ts; docs/benchmarks.md
 * "Where a self-delivery round trip waits"). Off, a stamp costs one test of a constant.
 */
import { writeFileSync } from 'node:fs';

const PREFIX = process.env.COROLINK_STAGE_TRACE ?? '';
/** Stamps kept at most (≈ 40 MB); later ones are dropped. */
const STAMPS_MAX = 2_000_000;

export const STAGE_TRACE_ON = PREFIX !== '';

const times: bigint[] = [];
const stages: string[] = [];

/** Records that `stage` (a word, with an optional detail after a space) happened now. */
export function stamp(stage: string): void {
  if (times.length < STAMPS_MAX) {
    times.push(process.hrtime.bigint());
    stages.push(stage);
  }
}

if (STAGE_TRACE_ON) {
  process.on('exit', () => {
    const lines = times.map((t, i) => `${t} ${stages[i]}`);
    writeFileSync(`${PREFIX}.${process.pid}`, `${lines.join('\n')}\n`);
  });
}
