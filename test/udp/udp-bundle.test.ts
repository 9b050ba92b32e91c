import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUNDLE_MARKER, PendingBundle, sameFrames, splitBundle } from '../../src/transport/udp-bundle.ts';

const frame = (text: string) => Buffer.from(`\xc0${text}`, 'latin1');

test('a lone frame is sent as is; several become a bundle that splits back', () => {
  const pending = new PendingBundle(0, 2);
  pending.add(frame('one'));
  const lone = pending.take();
  assert.deepEqual(Buffer.from(lone), frame('one'));
  assert.deepEqual(splitBundle(lone), [lone]);
  for (const text of ['a', 'bb', 'ccc']) pending.add(frame(text));
  const bundle = pending.take();
  assert.equal(bundle[0], BUNDLE_MARKER);
  assert.equal(pending.size, 0);
  assert.deepEqual(
    splitBundle(bundle)?.map((part) => Buffer.from(part).toString('latin1')),
    ['\xc0a', '\xc0bb', '\xc0ccc'],
  );
});

test('fits keeps a bundle within the plaintext budget', () => {
  const pending = new PendingBundle(1, 3);
  const budget = 1 + 2 + 10 + 2 + 10;
  pending.add(Buffer.alloc(10));
  assert.equal(pending.fits(Buffer.alloc(10), budget), true);
  assert.equal(pending.fits(Buffer.alloc(11), budget), false);
});

test('malformed bundles are rejected whole, never thrown on', () => {
  const pending = new PendingBundle(0, 2);
  pending.add(frame('first'));
  pending.add(frame('second'));
  const bundle = Buffer.from(pending.take());
  assert.equal(splitBundle(bundle.subarray(0, bundle.length - 1)), null, 'truncated last frame');
  assert.equal(splitBundle(bundle.subarray(0, 2)), null, 'truncated length');
  assert.equal(splitBundle(Buffer.from([BUNDLE_MARKER])), null, 'empty');
  assert.equal(splitBundle(Buffer.from([BUNDLE_MARKER, 0, 0, 1])), null, 'zero-length frame');
});

test('a bundle of the same frame objects is recognised (one seal serves every peer); equal bytes are not enough', () => {
  const [a, b] = [frame('a'), frame('b')];
  const toTwo = new PendingBundle(0, 2);
  const toThree = new PendingBundle(0, 3);
  for (const pending of [toTwo, toThree]) {
    pending.add(a);
    pending.add(b);
  }
  const queued = toTwo.queued;
  toTwo.take();
  assert.equal(queued.length, 2, 'the taken frames stay as they were');
  assert.ok(sameFrames(queued, toThree.queued));
  assert.ok(!sameFrames(queued, [a]));
  assert.ok(!sameFrames(queued, [b, a]));
  assert.ok(!sameFrames(queued, [a, frame('b')]));
});
