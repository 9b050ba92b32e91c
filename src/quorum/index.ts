/** votequorum (src/quorum): the pure core, its wire codec, the status formatter and the simulator. */
export { decodeQuorumMessage, encodeQuorumMessage, type QuorumMessage } from './codec.ts';
export {
  ctimeText,
  formatQuorumStatus,
  formatRingId,
  type QuorumStatusFormatOptions,
  qdeviceColumn,
} from './format.ts';
export {
  parseAutoTieBreakerNode,
  QuorumConfigError,
  type QuorumStartupKeys,
  reloadQuorumSettings,
  resolveQuorumSettings,
} from './settings.ts';
export type * from './types.ts';
export { majorityOf, QuorumCore } from './votequorum.ts';
export { QuorumSimulator, type QuorumSimulatorOptions } from './vqsim.ts';
