/**
 * The limits several layers share (config, wire, transport, CPG, daemon, CLI, client, lab), each in this one place.
 * A limit only one module uses lives in that module; defaults and derived values live in src/config/defaults.ts.
 * Names put the qualifier last (`LINKS_MAX`, `GROUP_NAME_BYTES_MAX`).
 */

/** knet KNET_MAX_LINK: links per host. */
export const LINKS_MAX = 8;
/** The highest link number (links are numbered 0 to LINKS_MAX − 1). */
export const LINK_NUMBER_MAX = LINKS_MAX - 1;
/** corosync CPG_MAX_NAME_LENGTH: the UTF-8 bytes of a CPG group name. */
export const GROUP_NAME_BYTES_MAX = 128;
/** corosync MESSAGE_SIZE_MAX: the largest message an application (CPG) or the transport carries (contracts.md). */
export const MESSAGE_BYTES_MAX = 1024 * 1024;
/** Highest knet link priority (uint8). */
export const LINK_PRIORITY_MAX = 255;
/** Largest 32-bit unsigned value: corosync's nodeid, votes and expected_votes are uint32. */
export const UINT32_MAX = 4_294_967_295;
/** A percentage (token_warning) is at most this. */
export const PERCENT_MAX = 100;
