/**
 * paramsProblem checks with each method's compiled schema (typebox's JIT): it must accept exactly what the schema
 * says, as typebox's interpreting `Value.Check` does, Refine rules (group names, bytes) included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { GROUP_NAME_BYTES_MAX, UINT32_MAX } from '../../src/base/limits.ts';
import { METHOD_PARAMS, type Method, paramsProblem } from '../../src/ipc/methods.ts';

const bytes = Buffer.from('payload');
/** cpgMcast params at and around every bound of its schema. */
const CPG_MCAST_CASES: Record<string, unknown>[] = [
  { group: 'g', data: bytes },
  { group: 'g', data: bytes, seq: 0 },
  { group: 'g', data: bytes, seq: UINT32_MAX },
  { group: 'g', data: bytes, seq: UINT32_MAX + 1 },
  { group: 'g', data: bytes, seq: -1 },
  { group: 'g', data: bytes, seq: 1.5 },
  { group: 'g', data: bytes, seq: '1' },
  { group: 'g', data: 'cGF5bG9hZA==', delivery: 'safe' },
  { group: 'g', data: bytes, delivery: 'agreed' },
  { group: 'g', data: bytes, delivery: 'fast' },
  { group: 'g', data: 7 },
  { group: 'g', data: [1, 2] },
  { group: 'g' },
  { data: bytes },
  { group: '', data: bytes },
  { group: 'é'.repeat(GROUP_NAME_BYTES_MAX / 2), data: bytes },
  { group: `${'é'.repeat(GROUP_NAME_BYTES_MAX / 2)}x`, data: bytes },
  { group: 5, data: bytes },
  { group: 'g', data: bytes, extra: true },
];
/** Values every method's params are tried with. */
const GENERIC_CASES: Record<string, unknown>[] = [
  {},
  { group: 'g' },
  { votes: 0 },
  { votes: 3, nodeid: 2 },
  { link: 7, enabled: true },
  { link: 8, enabled: true },
  { topics: ['cpg', 'quorum'] },
  { topics: ['nope'] },
  { path: '/a/b', data: bytes },
  { path: '../x' },
  { sid: 'ip:vip', node: 2 },
  { ttl_ms: 999 },
  { text: 'totem {}', force: 'yes' },
];

describe('paramsProblem', () => {
  it('accepts exactly the cpgMcast params the schema accepts', () => {
    for (const params of CPG_MCAST_CASES) {
      assert.equal(
        paramsProblem('cpgMcast', params) === undefined,
        Value.Check(METHOD_PARAMS.cpgMcast, params),
        JSON.stringify(params),
      );
    }
    assert.equal(paramsProblem('cpgMcast', { group: 'g', data: bytes, seq: 3 }), undefined);
    assert.equal(paramsProblem('cpgMcast', { group: 'g', data: bytes, seq: -1 }), 'seq must be >= 0');
  });

  it('agrees with the schema for every method', () => {
    for (const method of Object.keys(METHOD_PARAMS) as Method[]) {
      for (const params of [...GENERIC_CASES, ...CPG_MCAST_CASES]) {
        assert.equal(
          paramsProblem(method, params) === undefined,
          Value.Check(METHOD_PARAMS[method], params),
          `${method} ${JSON.stringify(params)}`,
        );
      }
    }
  });
});
