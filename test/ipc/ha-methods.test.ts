// The HA admin methods of the admin socket (src/ipc/methods.ts, src/daemon/handlers/ha.ts) at the HaControl seam:
// params are checked by their schema before a handler runs (bad_request naming the field, nothing reaches the
// managers), writes reach HaControl translated, the managers' refusals keep their code, a node without HA says
// so, and HA events reach the connections subscribed to `ha`.
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { HA_DISABLED_MESSAGE, haStatusJson } from '../../src/daemon/handlers/ha.ts';
import { paramsProblem } from '../../src/ipc/methods.ts';
import { HaEventSchema, HaStatusV1Schema } from '../../src/ipc/schema.ts';
import { haAdminSocket, haSnapshot, RecordingHaControl } from './ha-fixtures.ts';

const WAIT_MS = 5000;

/** A JSON-lines connection: `request` sends one call and resolves with its answer; events are queued. */
class LineClient {
  private buffer = '';
  private readonly messages: Record<string, unknown>[] = [];
  private waiter: (() => void) | undefined;
  private nextId = 1;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf('\n');
      while (newline >= 0) {
        this.messages.push(JSON.parse(this.buffer.slice(0, newline)));
        this.buffer = this.buffer.slice(newline + 1);
        newline = this.buffer.indexOf('\n');
      }
      this.waiter?.();
    });
  }

  static async open(path: string): Promise<LineClient> {
    const socket = createConnection(path);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new LineClient(socket);
  }

  async next(match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const index = this.messages.findIndex(match);
      if (index >= 0) return this.messages.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error('no matching message from the admin socket');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  /** Whether a message already received matches (replies and events of a connection arrive in order). */
  has(match: (message: Record<string, unknown>) => boolean): boolean {
    return this.messages.some(match);
  }

  async request(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.socket.write(`${JSON.stringify({ id, method, params })}\n`);
    return this.next((message) => message.id === id);
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('HA method params', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['haAdd', {}, 'section is required'],
    ['haAdd', { section: '  \n' }, 'section must be a non-empty resources.cfg section of at most 16384 bytes'],
    ['haAdd', { section: `exec: web\n\tstart ${'x'.repeat(16 * 1024)}` }, 'section must be a non-empty'],
    ['haRemove', { sid: 'web' }, 'sid must be TYPE:NAME with TYPE one of exec, systemd, ip'],
    ['haRemove', { sid: 'vm:100' }, 'sid must be TYPE:NAME'],
    ['haSet', { sid: 'exec:web', state: 'running' }, 'state must be one of started, stopped, disabled, ignored'],
    ['haSet', { sid: 'exec:web', max_restart: -1 }, 'max_restart must be >= 0'],
    ['haSet', { sid: 'exec:web', max_relocate: 1.5 }, 'max_relocate must be integer'],
    ['haSet', { sid: 'exec:web', group: '1web' }, 'group must start with a letter'],
    ['haMigrate', { sid: 'exec:web' }, 'node is required'],
    ['haMigrate', { sid: 'exec:web', node: 0 }, 'node must be >= 1'],
    ['haRelocate', { sid: 'exec:web', node: 'n2' }, 'node must be integer'],
    ['haGroupSet', { section: '' }, 'section must be a non-empty'],
    ['haGroupRemove', { name: 'a b' }, 'name must start with a letter'],
    ['haNodeMaintenance', { node: 1, on: 'yes' }, 'on must be boolean'],
    ['haNodeMaintenance', { on: true }, 'node is required'],
    ['subscribe', { topics: ['ha', 'hb'] }, 'topics.1 must be one of log, link, membership, quorum, cpg, ha'],
  ];
  for (const [method, params, message] of cases) {
    it(`${method} ${JSON.stringify(params).slice(0, 60)} → "${message}"`, () => {
      const problem = paramsProblem(method as 'haAdd', params);
      assert.ok(problem?.startsWith(message), `got ${problem}`);
    });
  }

  it('accepts well-formed params', () => {
    assert.equal(
      paramsProblem('haSet', { sid: 'systemd:nginx.service', state: 'disabled', max_restart: 3 }),
      undefined,
    );
    assert.equal(paramsProblem('haMigrate', { sid: 'ip:vip', node: 2 }), undefined);
    assert.equal(paramsProblem('haAdd', { section: 'exec: web\n\tstart /bin/true\n' }), undefined);
    assert.equal(paramsProblem('subscribe', { topics: ['ha'] }), undefined);
  });
});

describe('haStatusJson', () => {
  it('is the HaStatusV1 document: snake_case ids, report ages on the daemon clock', () => {
    const json = haStatusJson(haSnapshot, 10_000);
    assert.ok(Value.Check(HaStatusV1Schema, json), JSON.stringify([...Value.Errors(HaStatusV1Schema, json)]));
    assert.deepEqual(json.manager, { nodeid: 1, name: 'n1' });
    assert.deepEqual(
      json.nodes.map((n) => [n.nodeid, n.last_report_ms]),
      [
        [2, 1000],
        [1, 500],
        [3, null],
      ],
    );
    assert.equal(json.services[1]!.nodeid, null);
    assert.deepEqual(json.counters, haSnapshot.counters);
  });
});

describe('HA methods over the admin socket', () => {
  const ha = new RecordingHaControl();
  let socket: Awaited<ReturnType<typeof haAdminSocket>>;
  let client: LineClient;

  before(async () => {
    socket = await haAdminSocket(ha);
    client = await LineClient.open(socket.path);
  });
  after(async () => {
    client.close();
    await socket.close();
  });

  it('a bad param is bad_request naming the field, counted, and never reaches the managers', async () => {
    const before = ha.calls.length;
    const reply = await client.request('haMigrate', { sid: 'exec:web', node: -2 });
    assert.deepEqual(reply.error, { code: 'bad_request', message: 'node must be >= 1' });
    assert.equal(ha.calls.length, before);
    assert.ok(socket.server.counters.badRequests >= 1);
  });

  it('haStatus answers the HaStatusV1 document', async () => {
    const reply = await client.request('haStatus');
    const result = reply.result as Record<string, unknown>;
    assert.ok(Value.Check(HaStatusV1Schema, result), JSON.stringify([...Value.Errors(HaStatusV1Schema, result)]));
    assert.deepEqual(
      (result.services as { sid: string }[]).map((s) => s.sid),
      ['exec:web', 'systemd:db', 'ip:vip'],
    );
  });

  it('haResources answers the resources.cfg text', async () => {
    assert.deepEqual((await client.request('haResources')).result, { text: ha.text });
  });

  it('writes reach HaControl translated (haSet snake_case → settings)', async () => {
    ha.calls.length = 0;
    for (const [method, params] of [
      ['haAdd', { section: 'exec: web\n\tstart /bin/true\n' }],
      ['haRemove', { sid: 'exec:web' }],
      ['haSet', { sid: 'exec:web', state: 'disabled', max_restart: 2, max_relocate: 0 }],
      ['haMigrate', { sid: 'exec:web', node: 2 }],
      ['haRelocate', { sid: 'exec:web', node: 1 }],
      ['haGroupSet', { section: 'group: web\n\tnodes n1\n' }],
      ['haGroupRemove', { name: 'web' }],
      ['haNodeMaintenance', { node: 2, on: true }],
    ] as const) {
      assert.deepEqual((await client.request(method, params)).result, { ok: true }, method);
    }
    assert.deepEqual(ha.calls, [
      ['add', 'exec: web\n\tstart /bin/true\n'],
      ['remove', 'exec:web'],
      ['set', 'exec:web', { state: 'disabled', maxRestart: 2, maxRelocate: 0 }],
      ['migrate', 'exec:web', 2],
      ['relocate', 'exec:web', 1],
      ['groupSet', 'group: web\n\tnodes n1\n'],
      ['groupRemove', 'web'],
      ['nodeMaintenance', 2, true],
    ]);
  });

  it('haSet without a setting is bad_request', async () => {
    const reply = await client.request('haSet', { sid: 'exec:web' });
    assert.equal((reply.error as { code: string }).code, 'bad_request');
    assert.match((reply.error as { message: string }).message, /at least one of state, max_restart/);
  });

  it("the managers' refusals keep their code and message; an uncoded one is refused", async () => {
    assert.deepEqual((await client.request('haAdd', { section: 'exec: web\n\tbad 1\n' })).error, {
      code: 'bad_request',
      message: 'resources.cfg 2:2: unknown key bad',
    });
    assert.deepEqual((await client.request('haRemove', { sid: 'exec:missing' })).error, {
      code: 'not_found',
      message: 'no service exec:missing',
    });
    assert.deepEqual((await client.request('haMigrate', { sid: 'exec:web', node: 3 })).error, {
      code: 'refused',
      message: 'node n3 is fenced',
    });
  });

  it('HA events reach the connections subscribed to ha, and only those', async () => {
    const other = await LineClient.open(socket.path);
    try {
      await client.request('subscribe', { topics: ['ha'] });
      await other.request('subscribe', { topics: ['log'] });
      ha.emit({ sid: 'exec:web', nodeId: 1, message: 'service exec:web: started on n1', state: 'started' });
      ha.emit({ sid: null, nodeId: 3, message: 'node n3: fenced', state: 'fence' });
      const first = await client.next((m) => m.event === 'ha');
      const second = await client.next((m) => m.event === 'ha');
      assert.deepEqual(first.data, {
        sid: 'exec:web',
        nodeid: 1,
        message: 'service exec:web: started on n1',
        state: 'started',
      });
      assert.deepEqual(second.data, { sid: null, nodeid: 3, message: 'node n3: fenced', state: 'fence' });
      assert.ok(Value.Check(HaEventSchema, first.data));
      // A connection gets its events and replies in order: an ha event for `other` would precede this reply.
      await other.request('haResources');
      assert.equal(
        other.has((m) => m.event === 'ha'),
        false,
      );
    } finally {
      other.close();
    }
  });
});

describe('HA methods on a node without HA', () => {
  let socket: Awaited<ReturnType<typeof haAdminSocket>>;
  let client: LineClient;

  before(async () => {
    socket = await haAdminSocket(undefined);
    client = await LineClient.open(socket.path);
  });
  after(async () => {
    client.close();
    await socket.close();
  });

  it(`every HA method answers refused "${HA_DISABLED_MESSAGE}"`, async () => {
    for (const [method, params] of [
      ['haStatus', {}],
      ['haResources', {}],
      ['haAdd', { section: 'exec: web\n' }],
      ['haNodeMaintenance', { node: 1, on: false }],
    ] as const) {
      const reply = await client.request(method, params);
      assert.deepEqual(reply.error, { code: 'refused', message: HA_DISABLED_MESSAGE }, method);
    }
  });
});
