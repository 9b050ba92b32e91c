// Soak the real stack in the deterministic simulator over many seeds (VOPR style). By default every node runs the
// whole stack (transport + Totem + votequorum + CPG + the cfs state machine, src/sim/stack-run.ts); --totem runs
// transport + Totem alone (src/sim/fuzz-run.ts), with Totem-level EVS checkers and a schedule minimiser.
//   npm run soak:sim -- --seeds 10000 [--from 1] [--workers 2] [--safety-ms 3000]
//   npm run soak:sim -- --seed 1234 [--nodes 5 --links 2] [--trace]     replay one whole-stack seed
//   npm run soak:sim -- --totem --seeds 100000 [--minimise]            the Totem-only soak
//   npm run soak:sim -- --totem --seed 1234 --nodes 5 --links 2 [--schedule '[…]']   replay a Totem seed
//   npm run soak:sim -- --ha --seeds 100000 [--workers 2]                the HA managers' soak (src/sim/ha-run.ts)
//   npm run soak:sim -- --ha --seed 1234 [--nodes 3 --links 1] [--trace]  replay an HA seed
// Prints progress and every failure with its replay command; the LAST line is a JSON summary.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { FaultEvent } from '../src/sim/faults.ts';
import {
  formatFailure,
  minimise,
  runSeed,
  type SeedOptions,
  type SeedResult,
  shapeForSeed,
} from '../src/sim/fuzz-run.ts';
import { createFuzzCluster } from '../src/sim/fuzz-target.ts';
import { formatHaFailure, haShapeForSeed, runHaSeed } from '../src/sim/ha-run.ts';
import { formatStackFailure, runStackSeed } from '../src/sim/stack-run.ts';

/** A worker thread does not inherit tsx's loader: register it, then load this file. */
const WORKER_BOOTSTRAP = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
/** Seeds between two progress lines. */
const PROGRESS_EVERY_SEEDS = 500;

interface Arguments {
  seeds: number;
  from: number;
  seed?: number;
  nodes?: number;
  links?: number;
  workers: number;
  minimise: boolean;
  schedule?: FaultEvent[];
  /** Transport + Totem only (the Totem-level checkers) instead of the whole stack. */
  totem: boolean;
  /** The HA managers on the whole stack (src/sim/ha-run.ts). */
  ha: boolean;
  /** Whole-stack replay: print every record of the run. */
  trace: boolean;
  /** Length of each run's safety phase (default: the mode's own). */
  safetyMs?: number;
}

interface SeedReport {
  seed: number;
  violations: number;
  invariants: string[];
  report: string;
}

function parseArguments(argv: string[]): Arguments {
  const options: Arguments = {
    seeds: 1000,
    from: 1,
    workers: 1,
    minimise: false,
    totem: false,
    ha: false,
    trace: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const parsed = Number(argv[++i]);
      if (!Number.isInteger(parsed)) throw new Error(`${flag} needs an integer`);
      return parsed;
    };
    if (flag === '--seeds') options.seeds = value();
    else if (flag === '--from') options.from = value();
    else if (flag === '--seed') options.seed = value();
    else if (flag === '--nodes') options.nodes = value();
    else if (flag === '--links') options.links = value();
    else if (flag === '--workers') options.workers = value();
    else if (flag === '--minimise') options.minimise = true;
    else if (flag === '--totem') options.totem = true;
    else if (flag === '--ha') options.ha = true;
    else if (flag === '--trace') options.trace = true;
    else if (flag === '--safety-ms') options.safetyMs = value();
    else if (flag === '--schedule') options.schedule = JSON.parse(argv[++i] ?? '[]') as FaultEvent[];
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!options.totem && (options.minimise || options.schedule)) {
    throw new Error('--minimise and --schedule work on Totem runs only (add --totem)');
  }
  if (options.totem && (options.safetyMs !== undefined || options.trace)) {
    throw new Error('--safety-ms and --trace work on whole-stack runs only (drop --totem)');
  }
  return options;
}

function seedOptions(seed: number, args: Pick<Arguments, 'nodes' | 'links' | 'safetyMs' | 'ha'>): SeedOptions {
  const shape = args.ha ? haShapeForSeed(seed) : shapeForSeed(seed);
  const options = { seed, nodes: args.nodes ?? shape.nodes, links: args.links ?? shape.links };
  return args.safetyMs === undefined ? options : { ...options, safetyMs: args.safetyMs };
}

/** Shrinks a failing run; its report ends with the command that replays exactly the minimised schedule. */
function minimisedReport(result: SeedResult, options: SeedOptions): string {
  return `  minimised:\n${formatFailure(minimise(createFuzzCluster, result, options))}`;
}

/** Runs one seed; a failure's report includes the minimised schedule when asked for. */
function runOne(
  seed: number,
  args: Pick<Arguments, 'nodes' | 'links' | 'minimise' | 'totem' | 'safetyMs' | 'ha'>,
): SeedReport {
  const options = seedOptions(seed, args);
  if (args.ha) {
    const result = runHaSeed(options);
    const invariants = [...new Set(result.violations.map((v) => v.invariant))];
    const report = result.violations.length > 0 ? formatHaFailure(result) : '';
    return { seed, violations: result.violations.length, invariants, report };
  }
  if (!args.totem) {
    const result = runStackSeed(options);
    const invariants = [...new Set(result.violations.map((v) => v.invariant))];
    const report = result.violations.length > 0 ? formatStackFailure(result) : '';
    return { seed, violations: result.violations.length, invariants, report };
  }
  const result = runSeed(createFuzzCluster, options);
  if (result.violations.length === 0) return { seed, violations: 0, invariants: [], report: '' };
  const minimised = args.minimise ? `\n${minimisedReport(result, options)}` : '';
  return {
    seed,
    violations: result.violations.length,
    invariants: [...new Set(result.violations.map((v) => v.invariant))],
    report: formatFailure(result) + minimised,
  };
}

function seedsOfWorker(args: Arguments, worker: number): number[] {
  const seeds: number[] = [];
  for (let seed = args.from + worker; seed < args.from + args.seeds; seed += args.workers) seeds.push(seed);
  return seeds;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const started = performance.now();
  if (args.seed !== undefined && args.ha) {
    const result = runHaSeed(seedOptions(args.seed, args));
    console.log(formatHaFailure(result, { trace: args.trace }));
    const duration_s = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ seeds: 1, violations: result.violations.length, duration_s, ...result.stats }));
    process.exitCode = result.violations.length > 0 ? 1 : 0;
    return;
  }
  if (args.seed !== undefined && !args.totem) {
    const result = runStackSeed(seedOptions(args.seed, args));
    console.log(formatStackFailure(result, { trace: args.trace }));
    const duration_s = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ seeds: 1, violations: result.violations.length, duration_s, ...result.stats }));
    process.exitCode = result.violations.length > 0 ? 1 : 0;
    return;
  }
  if (args.seed !== undefined) {
    const options = seedOptions(args.seed, args);
    const result = runSeed(createFuzzCluster, options, args.schedule);
    console.log(formatFailure(result));
    if (result.violations.length > 0 && args.minimise) console.log(minimisedReport(result, options));
    const duration_s = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ seeds: 1, violations: result.violations.length, duration_s, ...result.stats }));
    process.exitCode = result.violations.length > 0 ? 1 : 0;
    return;
  }
  let done = 0;
  let failedSeeds = 0;
  const invariants: Record<string, number> = {};
  const onReport = (report: SeedReport) => {
    done++;
    if (report.violations > 0) {
      failedSeeds++;
      for (const name of report.invariants) invariants[name] = (invariants[name] ?? 0) + 1;
      console.log(report.report);
    }
    if (done % PROGRESS_EVERY_SEEDS === 0) {
      console.log(
        `${done}/${args.seeds} seeds, ${failedSeeds} failing, ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, args.workers) }, (_, worker) => {
      const seeds = seedsOfWorker(args, worker);
      if (args.workers <= 1) {
        for (const seed of seeds) onReport(runOne(seed, args));
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const thread = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: { seeds, args } });
        thread.on('message', onReport);
        thread.on('error', reject);
        thread.on('exit', () => resolve());
      });
    }),
  );
  const duration_s = Math.round((performance.now() - started) / 100) / 10;
  const mode = args.ha ? 'ha' : args.totem ? 'totem' : 'stack';
  console.log(JSON.stringify({ seeds: done, violations: failedSeeds, duration_s, invariants, from: args.from, mode }));
  process.exitCode = failedSeeds > 0 ? 1 : 0;
}

if (isMainThread) {
  await main();
} else {
  const { seeds, args } = workerData as { seeds: number[]; args: Arguments };
  for (const seed of seeds) parentPort!.postMessage(runOne(seed, args));
}
