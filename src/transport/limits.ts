/**
 * Named bounds of the transport core. knet's equivalents are cited; where corolink differs the reason is given.
 */

/** knet KNET_LINK_PONG_TIMEOUT_BACKOFF: the pong timeout is multiplied by this right after a link is (re)created or goes down. */
export const PONG_TIMEOUT_BACKOFF_START = 10;

/** The backoff multiplier decreases by one per this many ms, down to 1 (knet: once per second). */
export const PONG_TIMEOUT_BACKOFF_STEP_MS = 1000;

/** knet KNET_LINK_PONG_TIMEOUT_LAT_MUL: the pong timeout also allows this many average latencies. */
export const PONG_TIMEOUT_LATENCY_MULTIPLIER = 2;

/** knet ping_precision default: the running latency average covers at most this many samples. */
export const LATENCY_PRECISION_SAMPLES = 2048;

/** Per-source duplicate filter width in sequence numbers (knet: 4096-entry circular buffer). Power of two. */
export const DEDUP_WINDOW_SEQS = 4096;

/** At most this many partially reassembled messages per peer; the oldest is evicted beyond it. */
export const PARTIAL_MESSAGES_PER_PEER_MAX = 32;

/** At most this many bytes of partially reassembled messages per peer; the oldest is evicted beyond it. */
export const REASSEMBLY_BYTES_PER_PEER_MAX = 4 * 1024 * 1024;

/** Recent single-link data frames kept per peer so they can be re-sent on another link when theirs fails. */
export const FAILOVER_RING_FRAMES = 64;

/**
 * Copies of recent data frames the transport keeps for all peers' failover rings (a frame sent to many peers is
 * copied once): two rings' worth, so that a peer's ring still finds its frames when the peers' data is on two links.
 */
export const FAILOVER_STORE_FRAMES = 2 * FAILOVER_RING_FRAMES;

/** Smallest link MTU accepted (header + fragment header + a useful payload). */
export const LINK_MTU_BYTES_MIN = 128;

/**
 * A connected link that carried our data within the last ping interval is pinged this many times as often: a quiet
 * cluster pings slowly, a link with data to protect is watched closely.
 */
export const BUSY_PING_RATE_MULTIPLIER = 3;

/**
 * A connected quiet link asks for an echo (not a pong) only while its pong deadline is more than this many ping
 * intervals away: the echo comes back with the peer's next ping — up to an interval later, more when the peer's
 * timers run late — and one more interval leaves room for a lost or late heartbeat. Closer to the deadline the ping
 * asks for a pong, which the peer sends as it reads the ping (docs/transport.md § Echo pings).
 */
export const ECHO_DEADLINE_INTERVALS_MIN = 2;

/**
 * Passive mode: the data link is *suspect* once a ping on it has gone unanswered for a grace of this many average
 * round trips (at least SUSPECT_PONG_GRACE_MIN_MS): one missed pong. While it is suspect, data also goes on the best
 * other link, and the frames sent on it since the last answered ping are re-sent there; the receiver drops
 * duplicates. The floor absorbs a peer that answers a few ms late (a busy machine) without covering for it.
 */
export const SUSPECT_PONG_GRACE_LATENCY_MULTIPLIER = 4;
export const SUSPECT_PONG_GRACE_MIN_MS = 4;

/**
 * A step that comes this much later than the core's own deadline means this process was not scheduled (a GC pause,
 * a blocked event loop, a stopped VM): the time it missed is not counted as peer silence (corosync warns "main
 * process was not scheduled for … ms" in the same case, but still lets the links time out).
 */
export const PAUSE_THRESHOLD_MS = 50;
