// votequorum's device side through the stack: requests as `serviceRequest` to service 1, answers and the sync's
// node list as `serviceOutput`; the sync of a new ring waits for the device's poll of that ring.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QUORUM_SERVICE_ID, type QuorumServiceOutput } from '../../src/daemon/quorum-engine.ts';
import type { QdeviceRequest, RingId } from '../../src/quorum/index.ts';
import { stackCluster } from './stack-cluster.ts';

describe('stack: quorum device requests and the sync wait', () => {
  test('2 nodes + device: registered and voting, one node cut off, the other stays quorate after its poll', () => {
    const c = stackCluster([1, 2], () => () => [], undefined, { device: {} });
    const request = (id: number, body: QdeviceRequest) =>
      c.step(id, { type: 'serviceRequest', service: QUORUM_SERVICE_ID, request: body });
    const quorum = (id: number) => c.stacks.get(id)!.snapshot().quorum;
    const outputsOf = (id: number) =>
      c.outputs
        .get(id)!
        .flatMap((action) =>
          action.type === 'serviceOutput' && action.service === QUORUM_SERVICE_ID
            ? [action.output as QuorumServiceOutput]
            : [],
        );
    c.runUntil(() => quorum(1).quorate && quorum(2).quorate);
    const poll = (id: number, ringId: RingId | null) =>
      request(id, { type: 'qdevicePoll', name: 'Qdevice', castVote: true, ringId });
    for (const id of [1, 2]) {
      request(id, { type: 'qdeviceRegister', name: 'Qdevice' });
      poll(id, quorum(id).ringId);
    }
    const allVoting = (id: number) => quorum(id).members.every((member) => member.qdevice?.castVote === true);
    c.runUntil(() => quorum(1).totalVotes === 3 && allVoting(1) && allVoting(2));
    assert.deepEqual(quorum(2).flags, ['Quorate', 'Qdevice']);
    assert.deepEqual(
      quorum(2).members.map((member) => member.qdevice),
      [
        { alive: true, castVote: true, masterWins: false },
        { alive: true, castVote: true, masterWins: false },
      ],
    );
    assert.ok(
      outputsOf(1).some((output) => output.type === 'qdeviceResult' && output.request === 'qdevicePoll' && output.ok),
    );

    const oldRing = quorum(1).ringId;
    c.cut.add(2);
    let nodeList: Extract<QuorumServiceOutput, { type: 'qdeviceNodeList' }> | undefined;
    c.runUntil(() => {
      nodeList = outputsOf(1).findLast(
        (output): output is typeof nodeList & object =>
          output.type === 'qdeviceNodeList' && output.members.length === 1,
      );
      return nodeList !== undefined;
    });
    assert.deepEqual(nodeList?.members, [1]);
    poll(1, oldRing);
    assert.deepEqual(quorum(1).ringId, oldRing, 'a poll for the old ring does not end the sync');
    poll(1, nodeList!.ringId);
    c.runUntil(() => quorum(1).nodes === 1);
    assert.equal(quorum(1).quorate, true);
    assert.equal(quorum(1).totalVotes, 2);
  });
});
