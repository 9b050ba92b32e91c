/**
 * `npm run bench:ha`: issue 16's HA failure scenarios in the netns lab (3 hosts × 2 links, corolink { ha: yes },
 * default timings; src/lab/ha-lab.ts, the same steps test/lab/ha.test.ts asserts), BENCH_RUNS rounds (default 5):
 * - both cables of n1 cut → the first answer from another node (client host, polling every 50 ms);
 * - kill -9 of n1's daemon → its server process gone (process check every 100 ms) and → answer elsewhere;
 * - `lab crash --host` of n1 → answer elsewhere;
 * - `ha migrate` n1 → n2 (nofailback on meanwhile): the longest time without an answer.
 * After each fault the host comes back and the service returns to n1 (failback) before the next. Prints a table
 * (median, min–max) and, as the last line, one JSON object with the medians. Needs root and iproute2.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailableReason } from '../src/lab/command.ts';
import { type FaultRecord, HaLab, summarizeFault } from '../src/lab/ha-lab.ts';
import { median } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const FIGURES = {
  cutToAnswerMs: 'both links of n1 cut → answer elsewhere',
  killToGoneMs: 'kill -9 of the daemon → service gone',
  killToAnswerMs: 'kill -9 of the daemon → answer elsewhere',
  crashToAnswerMs: 'host crash → answer elsewhere',
  migrateGapMs: 'ha migrate → longest time without an answer',
} as const;
type Figure = keyof typeof FIGURES;

/** `value` of a summary, or a thrown error naming the scenario when the fault record lacks it. */
function required(value: number | null, what: string, record: FaultRecord): number {
  if (value === null) throw new Error(`${what}: not seen in the window (${summarizeFault(record, 1).timeline})`);
  return value;
}

const unavailable = labUnavailableReason();
if (unavailable) {
  console.log(`bench:ha skipped: ${unavailable}`);
  process.exit(0);
}

const samples: Record<Figure, number[]> = {
  cutToAnswerMs: [],
  killToGoneMs: [],
  killToAnswerMs: [],
  crashToAnswerMs: [],
  migrateGapMs: [],
};
const ha = await HaLab.up(mkdtempSync(join(tmpdir(), 'corolink-bench-ha-')));
try {
  await ha.addWeb();
  for (let run = 1; run <= RUNS; run++) {
    const cut = await ha.cutAll(1);
    samples.cutToAnswerMs.push(required(summarizeFault(cut, 1).answerElsewhereMs, FIGURES.cutToAnswerMs, cut));
    await ha.restoreAll(1);
    await ha.waitPlaced(1);

    const kill = await ha.crash(1, false);
    samples.killToGoneMs.push(required(summarizeFault(kill, 1).goneMs, FIGURES.killToGoneMs, kill));
    samples.killToAnswerMs.push(required(summarizeFault(kill, 1).answerElsewhereMs, FIGURES.killToAnswerMs, kill));
    await ha.restart(1);
    await ha.waitPlaced(1);

    const crash = await ha.crash(1, true);
    samples.crashToAnswerMs.push(required(summarizeFault(crash, 1).answerElsewhereMs, FIGURES.crashToAnswerMs, crash));
    await ha.restart(1);
    await ha.waitPlaced(1);

    // Without nofailback the manager would move it straight back to n1, the preferred node.
    await ha.setWebGroup({ nofailback: true });
    const migrate = await ha.migrate(2);
    const gap = summarizeFault(migrate, 1);
    samples.migrateGapMs.push(gap.longestGapMs);
    await ha.migrate(1);
    await ha.setWebGroup({ nofailback: false });
    console.error(
      `# run ${run}: ${Object.entries(samples)
        .map(([k, v]) => `${k} ${v.at(-1)}`)
        .join(', ')}; migrate: ${gap.timeline}`,
    );
  }
} finally {
  await ha.lab.down();
}

console.log(`HA in the netns lab (3 hosts × 2 links, default timings), ms; median (min–max) of ${RUNS} runs.`);
console.log(`${'scenario'.padEnd(48)}${'median'.padStart(9)}  min–max`);
for (const [key, label] of Object.entries(FIGURES) as [Figure, string][]) {
  const values = samples[key];
  console.log(
    `${label.padEnd(48)}${String(median(values)).padStart(9)}  ${Math.min(...values)}–${Math.max(...values)}`,
  );
}
console.log(
  JSON.stringify({
    runs: RUNS,
    ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])),
  }),
);
