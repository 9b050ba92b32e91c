// The cfg service engine (corosync-cfgtool -k): the named node is told to shut down, the others log who asked, a
// malformed message is counted and never acted on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CFG_SERVICE_ID, CfgEngine, KILL_REASON_CHARS_MAX } from '../../src/daemon/cfg-engine.ts';

const message = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('cfg service engine', () => {
  test('a kill request naming this node becomes the output the daemon stops on', () => {
    const engine = new CfgEngine(3);
    const actions = engine.deliver(1, message({ type: 'killnode', nodeid: 3, reason: 'corolink kill 3 on node 1' }));
    assert.deepEqual(actions, [
      {
        type: 'serviceOutput',
        service: CFG_SERVICE_ID,
        output: { type: 'killed', by: 1, reason: 'corolink kill 3 on node 1' },
      },
    ]);
  });

  test('a request naming another node is only logged', () => {
    const engine = new CfgEngine(2);
    const actions = engine.deliver(1, message({ type: 'killnode', nodeid: 3, reason: 'r' }));
    assert.deepEqual(actions, [
      { type: 'log', level: 'notice', subsystem: 'CFG', message: 'node 1 asked node 3 to shut down: r' },
    ]);
    assert.equal(engine.counters.killRequests, 1);
  });

  test('malformed messages are counted, logged and never stop the node; a long reason is cut', () => {
    const engine = new CfgEngine(3);
    for (const payload of [
      Buffer.from('not json'),
      message({ type: 'killnode', nodeid: '3', reason: 'x' }),
      message(null),
    ]) {
      const actions = engine.deliver(5, payload);
      assert.deepEqual(actions, [
        { type: 'log', level: 'warning', subsystem: 'CFG', message: 'dropped a malformed cfg message from node 5' },
      ]);
    }
    assert.equal(engine.counters.malformed, 3);
    const [long] = engine.deliver(1, message({ type: 'killnode', nodeid: 3, reason: 'x'.repeat(10_000) }));
    assert.equal((long as { output: { reason: string } }).output.reason.length, KILL_REASON_CHARS_MAX);
  });

  test('a request is multicast as it was asked', () => {
    const engine = new CfgEngine(1);
    const request = { type: 'killnode', nodeid: 2, reason: 'r' };
    const [action] = engine.request({ type: 'serviceRequest', service: CFG_SERVICE_ID, request });
    assert.equal(action?.type, 'multicast');
    assert.deepEqual(JSON.parse(Buffer.from((action as { payload: Uint8Array }).payload).toString()), request);
  });
});
