// A service registered through the stack's engine interface (no change to stack.ts): its messages come back in
// one agreed order on every node, and after a configuration change its sync phases run in corosync's order —
// after votequorum's and CPG's syncs are complete, init → process → activate. ServiceSync is checked on its own
// for the abort path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigChange, EngineAction, RegularChange, ServiceEngine } from '../../src/daemon/service-engine.ts';
import { ServiceSync } from '../../src/daemon/service-sync.ts';
import { ServiceStack, type StackEvent } from '../../src/daemon/stack.ts';
import { corosyncTotemOptions } from '../../src/sim/cluster.ts';
import { stackCluster } from './stack-cluster.ts';

const TEST_SERVICE_ID = 9;
const NODES = [1, 2, 3];

const text = (payload: Uint8Array) => Buffer.from(payload).toString('utf8');

/**
 * A test service: multicasts what it is asked to, journals what it sees; its sync multicasts `sync <node>` and is
 * complete once every member's has been delivered.
 */
class JournalEngine implements ServiceEngine {
  readonly id = TEST_SERVICE_ID;
  readonly name = 'TEST';
  readonly requests = [] as const;
  readonly journal: string[] = [];
  readonly delivered: string[] = [];
  private awaiting = new Set<number>();

  constructor(
    private readonly localNodeId: number,
    /** What the other engines' state is when this engine's sync starts. */
    private readonly observe: () => string,
  ) {}

  request(event: StackEvent): EngineAction[] {
    if (event.type !== 'serviceRequest') return [];
    return [{ type: 'multicast', payload: Buffer.from(String(event.request)) }];
  }

  deliver(sender: number, payload: Uint8Array): EngineAction[] {
    const message = text(payload);
    if (message.startsWith('sync ')) this.awaiting.delete(sender);
    else this.delivered.push(`${sender}:${message}`);
    return [{ type: 'serviceOutput', service: this.id, output: message }];
  }

  confchg(change: ConfigChange): EngineAction[] {
    this.journal.push(`confchg ${change.kind} ${change.members.join(',')}`);
    return [];
  }

  syncInit(change: RegularChange): EngineAction[] {
    this.journal.push(`init ${change.members.join(',')} (${this.observe()})`);
    this.awaiting = new Set(change.members);
    return [{ type: 'multicast', payload: Buffer.from(`sync ${this.localNodeId}`) }];
  }

  syncProcess(): boolean {
    const done = this.awaiting.size === 0;
    if (done && this.journal.at(-1)?.startsWith('init')) this.journal.push('processed');
    return done;
  }

  syncAbort(): EngineAction[] {
    this.journal.push('abort');
    return [];
  }

  syncActivate(): EngineAction[] {
    this.journal.push('activate');
    return [];
  }

  nextDeadline(): number {
    return Number.POSITIVE_INFINITY;
  }

  tick(): EngineAction[] {
    return [];
  }
}

function cluster() {
  const engines = new Map<number, JournalEngine>();
  const c = stackCluster(NODES, (id) => () => {
    const engine = new JournalEngine(id, () => {
      const stack = c.stacks.get(id)!;
      const quorumRing = stack.snapshot().quorum.ringId;
      return `cpg ${stack.cpg.isOperational() ? 'operational' : 'syncing'}, quorum ring ${quorumRing?.seq}`;
    });
    engines.set(id, engine);
    return [engine];
  });
  return { ...c, engines };
}

test('a registered engine gets its messages in agreed order and its sync phases in order, after quorum and CPG', () => {
  const c = cluster();
  c.cut.add(3);
  for (const id of NODES) c.step(id, { type: 'tick' });
  const synced = (ids: number[]) => () => ids.every((id) => c.engines.get(id)!.journal.at(-1) === 'activate');
  c.runUntil(() => c.members(1) === 2 && c.members(2) === 2 && synced([1, 2])());

  // Messages from both nodes, interleaved: one order everywhere.
  for (let i = 0; i < 5; i++) {
    c.step(1, { type: 'serviceRequest', service: TEST_SERVICE_ID, request: `a${i}` });
    c.step(2, { type: 'serviceRequest', service: TEST_SERVICE_ID, request: `b${i}` });
  }
  c.runUntil(() => [1, 2].every((id) => c.engines.get(id)!.delivered.length === 10));
  const order = c.engines.get(1)!.delivered;
  assert.deepEqual(c.engines.get(2)!.delivered, order);
  assert.deepEqual(
    order.filter((m) => m.startsWith('1:')),
    ['1:a0', '1:a1', '1:a2', '1:a3', '1:a4'],
  );
  assert.deepEqual(
    order.filter((m) => m.startsWith('2:')),
    ['2:b0', '2:b1', '2:b2', '2:b3', '2:b4'],
  );
  assert.ok(
    c.outputs.get(1)!.some((a) => a.type === 'serviceOutput' && a.service === TEST_SERVICE_ID && a.output === 'b4'),
    'the engine output reaches the driver',
  );

  // Node 3 arrives: a configuration change, then the sync phases in order.
  for (const id of [1, 2]) c.engines.get(id)!.journal.length = 0;
  c.cut.delete(3);
  c.runUntil(() => NODES.every((id) => c.members(id) === 3) && synced(NODES)());
  for (const id of [1, 2]) {
    const journal = c.engines.get(id)!.journal;
    const ring = c.stacks.get(id)!.snapshot().totem.ringId?.seq;
    assert.match(journal.at(-5)!, /^confchg transitional /, `node ${id}`);
    assert.deepEqual(
      journal.slice(-4),
      ['confchg regular 1,2,3', `init 1,2,3 (cpg operational, quorum ring ${ring})`, 'processed', 'activate'],
      `node ${id}`,
    );
  }
  const journal3 = c.engines.get(3)!.journal;
  assert.deepEqual(journal3.slice(-3), [
    `init 1,2,3 (cpg operational, quorum ring ${c.stacks.get(3)!.snapshot().totem.ringId?.seq})`,
    'processed',
    'activate',
  ]);
});

/** A fake engine for ServiceSync alone: its sync completes when the test says so. */
function fakeEngine(name: string, journal: string[]): ServiceEngine & { done: boolean } {
  return {
    id: 1,
    name,
    requests: [],
    done: false,
    request: () => [],
    deliver: () => [],
    confchg: () => [],
    syncInit(change) {
      journal.push(`${name} init ${change.ringId.seq}`);
      return [];
    },
    syncProcess() {
      return this.done;
    },
    syncAbort() {
      journal.push(`${name} abort`);
      return [];
    },
    syncActivate() {
      journal.push(`${name} activate`);
      return [];
    },
    nextDeadline: () => Number.POSITIVE_INFINITY,
    tick: () => [],
  };
}

test('ServiceSync: engines sync one after the other, a configuration change aborts the running one', () => {
  const journal: string[] = [];
  const a = fakeEngine('a', journal);
  const b = fakeEngine('b', journal);
  const sync = new ServiceSync([a, b]);
  const change = (kind: 'transitional' | 'regular', seq: number): ConfigChange => ({
    kind,
    members: [1, 2],
    left: [],
    joined: [],
    failed: [],
    ringId: { rep: 1, seq },
  });
  sync.configChange(change('regular', 4), 0);
  assert.deepEqual(journal, ['a init 4']);
  a.done = true;
  sync.delivered(0);
  assert.deepEqual(journal, ['a init 4', 'b init 4']);
  sync.configChange(change('transitional', 4), 0);
  assert.deepEqual(journal.slice(2), ['b abort']);
  assert.equal(sync.running, false);
  a.done = false;
  sync.configChange(change('regular', 8), 0);
  assert.deepEqual(journal.slice(3), ['a init 8']);
  a.done = true;
  b.done = true;
  sync.delivered(0);
  assert.deepEqual(journal.slice(4), ['b init 8', 'a activate', 'b activate']);
  assert.equal(sync.completed, 1);
  assert.equal(sync.running, false);
});

test('the registry refuses an engine without a free service id in 1–255 or one that claims a taken event', () => {
  const journal: string[] = [];
  const register = (engine: ServiceEngine) => () =>
    new ServiceStack(
      {
        totem: { ...corosyncTotemOptions(1), localNodeId: 1, nodes: [1] },
        quorum: { localNodeId: 1, nodelist: [{ nodeId: 1 }] },
        services: () => [engine],
      },
      0,
    );
  const engine = (id: number, requests: StackEvent['type'][] = []) => ({ ...fakeEngine('x', journal), id, requests });
  assert.throws(register(engine(2)), /service x: id 2 is already registered/);
  assert.throws(register(engine(0)), /service x: id 0 is not in 1–255/);
  assert.throws(register(engine(256)), /service x: id 256 is not in 1–255/);
  assert.throws(register(engine(9, ['cpgJoin'])), /service x: cpgJoin events already go to CPG/);
  assert.throws(register(engine(9, ['transportDeliver'])), /the stack handles transportDeliver events itself/);
  assert.doesNotThrow(register(engine(9, ['reconfigure'])));
});
