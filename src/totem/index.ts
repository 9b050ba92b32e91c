/** Totem SRP: ordering and membership core, its wire codec and types. */
export { decodeMessage, encodeMessage, peekMessageType, peekTokenSeq, type TotemMessage } from './messages.ts';
export { formatRingId, sameRingId } from './ring-id.ts';
export { TotemCore } from './totem.ts';
export type * from './types.ts';
