/**
 * Bounds of the daemon's listeners (docs/security.md, "Cluster network"): what one source or a flood of
 * connections may hold. Every such limit lives here.
 */

/** Connections the HTTP server holds at once (dashboards, scrapers, live streams); more are closed at accept. */
export const HTTP_CONNECTIONS_MAX = 256;
/** Time to receive a request's headers. */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
/** Time to receive a whole request, body included (a body trickled after a 401 is cut off by it). */
export const HTTP_REQUEST_TIMEOUT_MS = 15_000;
/** A connection with no traffic either way this long is closed (the live stream sends a keepalive every 15 s). */
export const HTTP_IDLE_TIMEOUT_MS = 60_000;
/** How long an idle keep-alive connection waits for its next request. */
export const HTTP_KEEPALIVE_TIMEOUT_MS = 5_000;
/** How often the HTTP server looks for requests over their header or request timeout. */
export const HTTP_TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Largest request body (the API's bodies are a few bytes of JSON). */
export const HTTP_BODY_BYTES_MAX = 64 * 1024;

/** Connections the join service holds at once; more are closed at accept. */
export const JOIN_CONNECTIONS_MAX = 32;
/** Time a joiner has, from its connection, to send the hello and the signed request. */
export const JOIN_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Join attempts (connections) one source address may make per JOIN_ATTEMPT_WINDOW_MS; more are closed unread. */
export const JOIN_ATTEMPTS_PER_SOURCE_MAX = 10;
export const JOIN_ATTEMPT_WINDOW_MS = 60_000;
/** Source addresses whose attempts are remembered; beyond it, the oldest are forgotten. */
export const JOIN_SOURCES_TRACKED_MAX = 4096;

/** Repeated refusals of one kind and source are logged once, then summed up in one line per this interval. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/*
 * Slices of work on the event loop (docs/daemon.md, "Work on the loop"): links, heartbeats and Totem share the
 * loop with the admin socket, the HTTP server and the store, and a link's peers declare it down after the ping
 * timeout without a heartbeat (3 nodes: 250 ms with the fast profile, 1825 ms with the default lean one). No burst of
 * requests may hold the loop that long in one task.
 */
/** The store's WAL is checkpointed (on a thread of its own) once a commit leaves it this large (SQLite's default). */
export const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024;
/** The checkpoint thread ends after this long without a checkpoint (its V8 isolate costs ≈ 7 MiB). */
export const CHECKPOINT_WORKER_IDLE_MS = 10_000;
/** Pipelined requests of one admin-socket connection handled in one turn of the loop, at most. */
export const ADMIN_REQUESTS_PER_SLICE_MAX = 256;
/** Time one admin-socket connection's requests may take in one turn before the rest wait for the next turn. */
export const ADMIN_SLICE_MS = 5;
/**
 * HTTP requests (all connections together) handled in one turn of the loop, at most: 1,000 pipelined GET /metrics
 * read in one turn took 210–265 ms there under load (docs/daemon.md), about 0.27 ms each.
 */
export const HTTP_REQUESTS_PER_SLICE_MAX = 16;
/** Time the HTTP requests of one turn may take before the rest wait for the next turn. */
export const HTTP_SLICE_MS = 5;
/**
 * Entries of a `cfsLs` listing read and encoded per turn of the loop (src/daemon/cfs-listings.ts). A whole listing
 * of 13,000 entries was one task of 13–29 ms from SQLite and 5–13 ms to encode (fastest–median of 20, load 10);
 * a page of 1,000 reads in ≈ 1 ms (median), so a listing holds the loop ≈ 1–2 ms a turn (docs/daemon.md).
 */
export const CFS_LIST_PAGE_ENTRIES = 1_000;
/** Times a listing starts over because the store changed between its pages; then it is read whole, in one task. */
export const CFS_LIST_RESTARTS_MAX = 3;
/** Listings waiting for their pages, all clients together; one more is refused (each may hold a listing's JSON). */
export const CFS_LISTINGS_WAITING_MAX = 64;

/** Time limit of the carrier watch's one `ip -o addr show` (./carrier-watch.ts). */
export const CARRIER_ADDRESS_LIST_TIMEOUT_MS = 5_000;
/** Bytes of the interface monitor's stderr kept for the warning when it exits. */
export const CARRIER_MONITOR_STDERR_BYTES_MAX = 1_024;

/*
 * The data path (docs/benchmarks.md, "Token rotation"). Flow control counts Totem messages (max_messages per token
 * visit), so what one message carries bounds the throughput of a rotation.
 */
/**
 * Transport frames one totempg-style pack of small CPG/service payloads may fill (the transport fragments it).
 * One frame capped a visit at 17 × 1 KiB messages; corosync packs up to its netmtu (64 KiB with knet). 16 frames
 * (≈ 21 KB with the default 1,400 B link MTU) fill every frame but the last and keep one lost frame's
 * retransmission (the whole pack) small.
 */
export const PACK_FRAMES_MAX = 16;
/**
 * Largest Totem payload of the daemon's stack: one message of the transport (which fragments up to 1 MiB). 256 bytes
 * over 64 KiB, so a 64 KiB CPG message with its headers (group name up to 128 bytes) is one Totem message, and the
 * receivers deliver it as a view of what the transport reassembled instead of joining two fragments into a new copy.
 * (The CPG core's own DEFAULT_TOTEM_PAYLOAD_BYTES_MAX, src/cpg/cpg.ts, is the bound of a core built without one.)
 */
export const TOTEM_PAYLOAD_BYTES_MAX = 64 * 1024 + 256;
