// The HA manager's table check (src/ha/messages.ts isTable): what it accepts from the network and the store, and
// that a table it refuses is left as it came (bad input changes nothing).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyTable } from '../../src/ha/crm.ts';
import { isTable } from '../../src/ha/messages.ts';

/** A table as parsed JSON from a daemon that predates `admins`. */
function withoutAdmins(): Record<string, unknown> {
  const { admins: _, ...rest } = emptyTable();
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

describe('HA table check', () => {
  test('a table without admins (an older daemon) is accepted and given an empty list', () => {
    const table = withoutAdmins();
    assert.equal(isTable(table), true);
    assert.deepEqual(table.admins, []);
  });

  test('a refused table is left as it came: no admins added', () => {
    const table = { ...withoutAdmins(), epoch: 'one' };
    const before = structuredClone(table);
    assert.equal(isTable(table), false);
    assert.deepEqual(table, before);
    assert.equal('admins' in table, false);
  });

  test('bad admins entries refuse the table', () => {
    assert.equal(isTable({ ...emptyTable(), admins: [{ node: 1 }] }), false);
    assert.equal(isTable({ ...emptyTable(), admins: 'none' }), false);
    assert.equal(isTable(emptyTable()), true);
  });
});
