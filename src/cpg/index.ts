/** Closed process groups over Totem's agreed order: the pure CPG core and its public types. */

export { GROUP_NAME_BYTES_MAX, MESSAGE_BYTES_MAX } from '../base/limits.ts';
export {
  Cpg,
  type CpgOptions,
  DEFAULT_TOTEM_PAYLOAD_BYTES_MAX,
  HELD_MESSAGES_MAX,
  LOCAL_MEMBERSHIPS_MAX,
  PENDING_PAYLOADS_MAX,
  TOTEM_PAYLOAD_BYTES_MIN,
} from './cpg.ts';
export {
  CPG_REASON_CODES,
  type CpgAction,
  type CpgError,
  type CpgEvent,
  type CpgReason,
  type MemberChange,
  type ProcessAddress,
  type RingId,
} from './types.ts';
