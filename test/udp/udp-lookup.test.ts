import assert from 'node:assert/strict';
import { test } from 'node:test';
import { literalLookup } from '../../src/transport/udp-endpoints.ts';

test('an IP literal is its own address, answered before lookup returns (no tick before the datagram leaves)', () => {
  const answers: [string, number][] = [];
  literalLookup('127.0.0.1', 4, (error, address, family) => {
    assert.equal(error, null);
    answers.push([address, family]);
  });
  literalLookup('::1', 6, (_error, address, family) => answers.push([address, family]));
  assert.deepEqual(answers, [
    ['127.0.0.1', 4],
    ['::1', 6],
  ]);
});

test('a host name still goes to the resolver', async () => {
  const answer = await new Promise<[Error | null, string]>((resolve) =>
    literalLookup('localhost', 4, (error, address) => resolve([error, address])),
  );
  assert.deepEqual(answer, [null, '127.0.0.1']);
});
