// The HA metrics (src/web/ha-metrics.ts) rendered from an HA status document: one 0/1 row per service × state,
// the manager flag of this node, the managers' counters; nothing while HA gives no status.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { haStatusJson } from '../../src/daemon/handlers/ha.ts';
import { HA_SERVICE_STATES, type HaStatusV1 } from '../../src/ipc/schema.ts';
import { HaMetrics } from '../../src/web/ha-metrics.ts';
import { haSnapshot } from '../ipc/ha-fixtures.ts';

async function scrape(localNodeId: number, status: () => HaStatusV1 | undefined): Promise<PrometheusFamily[]> {
  const registry = new Registry();
  const metrics = new HaMetrics(registry, localNodeId, status);
  metrics.collect();
  return parsePrometheusTextFormat(await registry.metrics());
}

const family = (families: PrometheusFamily[], name: string) => {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `${name} is exposed`);
  return found;
};

describe('HA metrics', () => {
  const status = haStatusJson(haSnapshot, 10_000);

  it('corolink_ha_service_state: 1 for the current state of each service, 0 for every other state', async () => {
    const rows = family(await scrape(1, () => status), 'corolink_ha_service_state');
    assert.equal(rows.type, 'GAUGE');
    assert.equal(rows.metrics.length, status.services.length * HA_SERVICE_STATES.length);
    const ones = rows.metrics.filter((m) => m.value === '1').map((m) => `${m.labels!.sid}=${m.labels!.state}`);
    assert.deepEqual(ones.sort(), ['exec:web=started', 'ip:vip=recovery', 'systemd:db=error']);
  });

  it('the counters and the manager flag', async () => {
    const families = await scrape(1, () => status);
    const value = (name: string) => family(families, name).metrics[0]!.value;
    assert.equal(family(families, 'corolink_ha_recoveries_total').type, 'COUNTER');
    assert.equal(value('corolink_ha_recoveries_total'), '2');
    assert.equal(value('corolink_ha_restarts_total'), '3');
    assert.equal(value('corolink_ha_relocations_total'), '1');
    assert.equal(value('corolink_ha_fence_events_total'), '1');
    assert.equal(value('corolink_ha_manager'), '1');
    assert.equal(family(await scrape(2, () => status), 'corolink_ha_manager').metrics[0]!.value, '0');
  });

  it('a service that is gone leaves no rows at the next scrape; no status, no service rows', async () => {
    const registry = new Registry();
    let current: HaStatusV1 | undefined = status;
    const metrics = new HaMetrics(registry, 1, () => current);
    metrics.collect();
    current = { ...status, services: status.services.filter((s) => s.sid === 'exec:web') };
    metrics.collect();
    const rows = family(parsePrometheusTextFormat(await registry.metrics()), 'corolink_ha_service_state');
    assert.deepEqual([...new Set(rows.metrics.map((m) => m.labels!.sid))], ['exec:web']);
    current = undefined;
    metrics.collect();
    const none = parsePrometheusTextFormat(await registry.metrics()).find(
      (f) => f.name === 'corolink_ha_service_state',
    );
    assert.equal(none?.metrics.length ?? 0, 0);
  });
});
