// Public types of the CPG (closed process groups) core: its events, actions and addresses (reference §5).

import type { Guarantee, RingId } from '../totem/types.ts';

export type { Guarantee, RingId };

/** A process in a group, as corosync's `cpg_address` names it. */
export interface ProcessAddress {
  nodeId: number;
  pid: number;
}

/** Why a process joined or left a group (corosync's `cpg_reason`). */
export type CpgReason =
  | 'CPG_REASON_JOIN'
  | 'CPG_REASON_LEAVE'
  | 'CPG_REASON_NODEDOWN'
  | 'CPG_REASON_NODEUP'
  | 'CPG_REASON_PROCDOWN';

/** corosync's numeric values of {@link CpgReason} (`UNDEFINED` = 0 is used for plain member lists). */
export const CPG_REASON_CODES: Readonly<Record<CpgReason, number>> = {
  CPG_REASON_JOIN: 1,
  CPG_REASON_LEAVE: 2,
  CPG_REASON_NODEDOWN: 3,
  CPG_REASON_NODEUP: 4,
  CPG_REASON_PROCDOWN: 5,
};

/** A process entering or leaving a group, with the reason. */
export interface MemberChange extends ProcessAddress {
  reason: CpgReason;
}

/** Inputs of the CPG core. Totem events come from the node's Totem core; local ones from processes on this node. */
export type CpgEvent =
  | { type: 'tick' }
  /**
   * Totem's regular configuration arrived, when the driver starts CPG's sync for it later (the stack: after
   * votequorum's sync). Messages delivered from here on belong to the new ring; before it, since the transitional
   * configuration, to the old ring's transitional configuration.
   */
  | { type: 'transitionalEnd' }
  | { type: 'totemDeliver'; sender: number; payload: Uint8Array }
  | {
      type: 'totemConfigChange';
      kind: 'transitional' | 'regular';
      members: number[];
      left: number[];
      joined: number[];
      ringId: RingId;
    }
  | { type: 'localJoin'; group: string; pid: number }
  | { type: 'localLeave'; group: string; pid: number }
  /** `guarantee`: Totem's delivery of the message (libcpg's CPG_TYPE_AGREED / CPG_TYPE_SAFE); default agreed. */
  | { type: 'localMulticast'; group: string; pid: number; payload: Uint8Array; guarantee?: Guarantee }
  | { type: 'processDown'; pid: number };

/** Error codes of rejected local requests (corosync's `cs_error_t` names). */
export type CpgError =
  | 'CS_ERR_EXIST'
  | 'CS_ERR_NOT_EXIST'
  | 'CS_ERR_TRY_AGAIN'
  | 'CS_ERR_TOO_BIG'
  | 'CS_ERR_INVALID_PARAM';

/**
 * Outputs of the CPG core. `cpgDeliver` and `cpgConfchg` are addressed to one local process (`pid`). Named as the
 * stack passes them up, so the stack's CPG engine hands them on as they are (no copy per delivered message).
 */
export type CpgAction =
  | { type: 'totemMulticast'; payload: Uint8Array; guarantee: Guarantee }
  | { type: 'cpgDeliver'; group: string; pid: number; sender: ProcessAddress; payload: Uint8Array }
  | {
      type: 'cpgConfchg';
      group: string;
      pid: number;
      members: ProcessAddress[];
      left: MemberChange[];
      joined: MemberChange[];
    }
  | { type: 'cpgRequestFailed'; request: 'join' | 'leave' | 'multicast'; group: string; pid: number; error: CpgError }
  | { type: 'log'; level: 'debug' | 'info' | 'notice' | 'warning' | 'error'; subsystem: 'CPG'; message: string };
