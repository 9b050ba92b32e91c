/**
 * The HA managers' Prometheus metrics (docs/metrics.md "HA"), read from the HA status at every scrape: each
 * service's state as a 0/1 gauge per state, the manager node, and the cluster manager's counters.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HA_SERVICE_STATES, type HaStatusV1 } from '../ipc/schema.ts';

const COUNTERS: [keyof HaStatusV1['counters'], string, string][] = [
  ['recoveries', 'corolink_ha_recoveries_total', 'Services recovered on another node after their node was fenced'],
  ['restarts', 'corolink_ha_restarts_total', 'Service restarts on the same node after a failed start'],
  ['relocations', 'corolink_ha_relocations_total', 'Services relocated to another node after failed restarts'],
  ['fences', 'corolink_ha_fence_events_total', 'Nodes fenced (their services recovered only after the fence deadline)'],
];

export class HaMetrics {
  private readonly serviceState: Gauge;
  private readonly manager: Gauge;
  private readonly counters: [keyof HaStatusV1['counters'], Counter][];

  constructor(
    registry: Registry,
    private readonly localNodeId: number,
    private readonly haStatus: () => HaStatusV1 | undefined,
  ) {
    this.serviceState = new Gauge({
      name: 'corolink_ha_service_state',
      help: 'HA service state: 1 for the current state of the service, 0 for the others',
      labelNames: ['sid', 'state'],
      registers: [registry],
    });
    this.manager = new Gauge({
      name: 'corolink_ha_manager',
      help: '1 when this node is the HA cluster manager',
      registers: [registry],
    });
    this.counters = COUNTERS.map(([key, name, help]) => [key, new Counter({ name, help, registers: [registry] })]);
  }

  /** Sets every HA metric from the current status (none while HA gives no status). */
  collect(): void {
    const status = this.haStatus();
    this.serviceState.reset();
    if (status === undefined) return;
    for (const service of status.services) {
      // One row per state (1 for the current one), as kube-state-metrics shows phases: alerts need no label join.
      for (const state of HA_SERVICE_STATES) {
        this.serviceState.set({ sid: service.sid, state }, service.state === state ? 1 : 0);
      }
    }
    this.manager.set(status.manager?.nodeid === this.localNodeId ? 1 : 0);
    for (const [key, counter] of this.counters) {
      counter.reset();
      counter.inc(status.counters[key]);
    }
  }
}
