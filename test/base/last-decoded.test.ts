import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LastDecoded } from '../../src/base/last-decoded.ts';

const utf8 = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });

describe('LastDecoded', () => {
  it('decodes each range as the decoder does, whichever range came before', () => {
    let calls = 0;
    const names = new LastDecoded(8, (bytes) => {
      calls++;
      return strict.decode(bytes);
    });
    const frame = utf8.encode('xxgroupAyygroupBgroupA');
    assert.equal(names.decode(frame, 2, 8), 'groupA');
    assert.equal(names.decode(frame, 16, 22), 'groupA');
    assert.equal(calls, 1); // the same bytes elsewhere: the kept string
    assert.equal(names.decode(frame, 10, 16), 'groupB');
    assert.equal(names.decode(frame, 10, 15), 'group'); // same prefix, shorter
    assert.equal(names.decode(frame, 2, 8), 'groupA');
    assert.equal(calls, 4);
  });

  it('keeps nothing when the decoder throws, and decodes ranges longer than its bound every time', () => {
    let calls = 0;
    const names = new LastDecoded(4, (bytes) => {
      calls++;
      return strict.decode(bytes);
    });
    assert.equal(names.decode(utf8.encode('abc'), 0, 3), 'abc');
    assert.throws(() => names.decode(new Uint8Array([0xff, 0xfe, 0xfd]), 0, 3));
    assert.equal(names.decode(utf8.encode('abc'), 0, 3), 'abc');
    assert.equal(calls, 2);
    const long = utf8.encode('longer');
    assert.equal(names.decode(long, 0, 6), 'longer');
    assert.equal(names.decode(long, 0, 6), 'longer');
    assert.equal(calls, 4);
  });
});
