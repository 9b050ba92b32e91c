// `GET /api/ha` (src/web/api.ts): the HA status document on a node with HA; 404 naming why on a node without
// (the dashboard hides its HA panel on that answer).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { HA_DISABLED_MESSAGE, haStatusJson } from '../../src/daemon/handlers/ha.ts';
import type { HaStatusV1 } from '../../src/ipc/schema.ts';
import { registerHaApi } from '../../src/web/api.ts';
import { haSnapshot } from '../ipc/ha-fixtures.ts';

async function get(status: HaStatusV1 | undefined) {
  const app = Fastify({ logger: false });
  registerHaApi(app, () => status);
  try {
    return await app.inject({ method: 'GET', url: '/api/ha' });
  } finally {
    await app.close();
  }
}

describe('GET /api/ha', () => {
  it('answers the HaStatusV1 document', async () => {
    const status = haStatusJson(haSnapshot, 10_000);
    const response = await get(status);
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), status);
  });

  it('answers 404 not_found "HA is not enabled on this node" without HA', async () => {
    const response = await get(undefined);
    assert.equal(response.statusCode, 404);
    assert.deepEqual(response.json(), { error: { code: 'not_found', message: HA_DISABLED_MESSAGE } });
  });
});
