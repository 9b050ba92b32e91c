// Deliberately broken services on the whole-stack simulator: the checkers must catch each, and the seed must replay
// to the same violations (so a failure printed by `npm run soak:sim` is worth its replay command).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCfsMessage } from '../../src/cfs/codec.ts';
import { CfsEngine } from '../../src/daemon/cfs-engine.ts';
import { ServiceStack, type StackAction } from '../../src/daemon/stack.ts';
import type { StackFactory } from '../../src/sim/stack-cluster.ts';
import { formatStackFailure, runStackSeed } from '../../src/sim/stack-run.ts';

/** The real stack on every node, with `tamper` rewriting node `node`'s actions of each step. */
function brokenAt(node: number, tamper: (actions: StackAction[]) => StackAction[]): StackFactory {
  return (options, now) => {
    const stack = new ServiceStack(options, now);
    if (options.totem.localNodeId !== node) return stack;
    return {
      step: (event, at) => tamper(stack.step(event, at)),
      nextDeadline: () => stack.nextDeadline(),
      snapshot: () => stack.snapshot(),
    };
  };
}

/** CPG on node 2 hands its first application message to its process twice. */
const cpgDeliversTwice = () => {
  let done = false;
  return brokenAt(2, (actions) =>
    actions.flatMap((action) => {
      if (done || action.type !== 'cpgDeliver') return [action];
      done = true;
      return [action, action];
    }),
  );
};

/** Node 2's store engine silently loses every write other nodes submit (its replica never applies them). */
const cfsDropsWrites = (): StackFactory => (options, now) => {
  const services = options.services;
  if (options.totem.localNodeId !== 2 || services === undefined) return new ServiceStack(options, now);
  const dropOthersWrites = (engine: CfsEngine) => {
    const step = engine.core.step.bind(engine.core);
    engine.core.step = (event) =>
      event.type === 'deliver' && event.sender !== 2 && decodeCfsMessage(event.payload)?.type === 'put'
        ? []
        : step(event);
    return engine;
  };
  return new ServiceStack(
    {
      ...options,
      services: (context) =>
        services(context).map((engine) => (engine instanceof CfsEngine ? dropOthersWrites(engine) : engine)),
    },
    now,
  );
};

const SHAPE = { seed: 1, nodes: 4, links: 1 };

test('the real stack passes the seed the broken services are tried on', () => {
  const result = runStackSeed(SHAPE);
  assert.deepEqual(result.violations, [], formatStackFailure(result));
});

test('a CPG that delivers a message twice is caught, and its seed replays to the same violations', () => {
  const result = runStackSeed({ ...SHAPE, createStack: cpgDeliversTwice() });
  const invariants = new Set(result.violations.map((v) => v.invariant));
  assert.ok(invariants.has('cpg-no-duplication'), formatStackFailure(result));
  assert.match(formatStackFailure(result), /replay: npm run soak:sim -- --seed 1 --nodes 4 --links 1 --trace$/);
  assert.deepEqual(runStackSeed({ ...SHAPE, createStack: cpgDeliversTwice() }).violations, result.violations);
});

test('a store replica that drops writes is caught, and its seed replays to the same violations', () => {
  const result = runStackSeed({ ...SHAPE, createStack: cfsDropsWrites() });
  assert.ok(
    result.violations.some((v) => v.invariant.startsWith('cfs-')),
    formatStackFailure(result),
  );
  assert.deepEqual(runStackSeed({ ...SHAPE, createStack: cfsDropsWrites() }).violations, result.violations);
});
