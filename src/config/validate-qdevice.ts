/**
 * Validation of `quorum { device { } }`: votequorum's device rules (exec/votequorum.c `votequorum_readconfig`, with
 * its messages) and what corosync-qdevice needs to start (model net: `net.host`, `totem.cluster_name`, a nodelist;
 * a tie_breaker node id from the nodelist). Every finding points at the key or section it is about.
 */

import type { EffectiveConfig } from './defaults.ts';
import { parseQdeviceTieBreaker } from './defaults.ts';
import type { SourcePosition } from './diagnostics.ts';
import type { ClusterConfig } from './model.ts';

/** How the validator reports: an error at the position of a dotted path (or its fallback). */
export interface DeviceReporter {
  at(path: string, fallback?: string): SourcePosition;
  error(code: string, position: SourcePosition, message: string): void;
}

const CODE = 'quorum-device';

export function checkQuorumDevice(config: ClusterConfig, effective: EffectiveConfig, report: DeviceReporter): void {
  const device = config.quorumDevice;
  if (device === undefined) return;
  const at = (path: string) => report.at(path, 'quorum.device');
  if (device.model === undefined) {
    report.error(CODE, at('quorum.device'), 'quorum.device needs model: net (votequorum ignores a device without one)');
    return;
  }
  const q = config.quorum;
  const fatal = (path: string, message: string) => report.error(CODE, at(path), `configuration error: ${message}`);
  if (q.two_node === true)
    fatal('quorum.two_node', 'two_node and quorum device cannot be configured at the same time!');
  if (q.last_man_standing === true) {
    fatal('quorum.last_man_standing', 'quorum.device is not compatible with last_man_standing');
  }
  if (q.auto_tie_breaker === true)
    fatal('quorum.auto_tie_breaker', 'quorum.device is not compatible with auto_tie_breaker');
  if (q.expected_votes !== undefined && device.votes === undefined) {
    fatal('quorum.device', 'quorum.device.votes must be specified when quorum.expected_votes is set');
  }
  const nodeVotes = effective.nodes.map((node) => node.votes);
  if (device.votes === undefined && nodeVotes.some((votes) => votes !== 1)) {
    fatal('quorum.device', 'quorum.device.votes must be specified when not all nodes votes 1');
  }
  if (device.votes !== undefined && device.votes > 0 && q.expected_votes !== undefined) {
    if (q.expected_votes - device.votes < 2) {
      fatal('quorum.device.votes', 'quorum.device.votes is too high or expected_votes is too low');
    }
  }
  const net = device.net;
  if (net?.host === undefined) {
    report.error(CODE, at('quorum.device.net'), 'quorum.device model net needs net { host: <corosync-qnetd address> }');
  }
  if (config.totem.cluster_name === undefined) {
    report.error(
      CODE,
      at('quorum.device'),
      'quorum.device model net needs totem.cluster_name (qnetd knows clusters by name)',
    );
  }
  if (net?.tie_breaker !== undefined) {
    const tieBreaker = parseQdeviceTieBreaker(net.tie_breaker);
    const nodeIds = new Set(config.nodes.map((node) => node.nodeid));
    if (tieBreaker === null || (typeof tieBreaker === 'number' && !nodeIds.has(tieBreaker))) {
      report.error(
        CODE,
        at('quorum.device.net.tie_breaker'),
        `tie_breaker: '${net.tie_breaker}' is not lowest, highest or a nodeid of the nodelist`,
      );
    }
  }
}
