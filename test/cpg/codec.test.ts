/** The CPG wire format (src/cpg/codec.ts): exact bytes of each message kind, and decode(encode(m)) is m. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GROUP_NAME_BYTES_MAX } from '../../src/base/limits.ts';
import {
  type CpgMessage,
  concat,
  createGroupNameCache,
  decodeCpgMessage,
  encodeCpgMessage,
} from '../../src/cpg/codec.ts';

const encoded = (message: CpgMessage) => [...concat(encodeCpgMessage(message))];

describe('CPG codec', () => {
  it('lays out a data message as type, pid (u32 LE), name length, UTF-8 name, payload', () => {
    const message: CpgMessage = { type: 'data', group: 'gé', pid: 0x01020304, payload: Uint8Array.of(9, 8) };
    assert.deepEqual(encoded(message), [5, 4, 3, 2, 1, 3, 0x67, 0xc3, 0xa9, 9, 8]);
    assert.equal(encodeCpgMessage(message).at(-1), message.payload, 'the payload is a part of its own, not a copy');
  });

  it('lays out join, leave and procdown as type and process; sync as type, ring id, count, processes', () => {
    assert.deepEqual(encoded({ type: 'join', group: 'a', pid: 7 }), [2, 7, 0, 0, 0, 1, 0x61]);
    assert.deepEqual(encoded({ type: 'leave', group: 'a', pid: 0xffffffff }), [3, 255, 255, 255, 255, 1, 0x61]);
    assert.deepEqual(encoded({ type: 'procdown', group: 'a', pid: 256 }), [4, 0, 1, 0, 0, 1, 0x61]);
    const sync: CpgMessage = { type: 'sync', ringId: { rep: 2, seq: 1 }, members: [{ group: 'b', pid: 1 }] };
    assert.deepEqual(encoded(sync), [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x62]);
  });

  it('decodes what it encodes, names of every UTF-8 width up to the longest', () => {
    const longest = 'é'.repeat(GROUP_NAME_BYTES_MAX / 2);
    const names = ['g', 'gé', '群組', 'x😀y', longest];
    const messages: CpgMessage[] = [
      ...names.map((group, pid): CpgMessage => ({ type: 'data', group, pid, payload: Uint8Array.of(pid, 1, 2) })),
      ...names.map((group): CpgMessage => ({ type: 'join', group, pid: 3 })),
      { type: 'sync', ringId: { rep: 4, seq: 12345 }, members: names.map((group, pid) => ({ group, pid })) },
    ];
    const groupNames = createGroupNameCache();
    for (const message of messages) {
      const decoded = decodeCpgMessage(concat(encodeCpgMessage(message)), groupNames);
      assert.deepEqual(decoded, message, JSON.stringify(message));
    }
  });
});
