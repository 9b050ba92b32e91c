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
/** nice(1)'s most favourable value: corosync's `system.priority: max`. */
export const NICE_MIN = -20;
/** nice(1)'s least favourable value: corosync's `system.priority: min`. */
export const NICE_MAX = 19;
/** Linux's sched_get_priority_max(SCHED_RR): the real-time priority corosync takes with `system.sched_rr: yes`. */
export const SCHED_RR_PRIORITY_MAX = 99;

/**
 * V8 heap limits of the daemon, given to node when the daemon starts (they only take effect there: V8 sizes its
 * heap once, so `v8.setFlagsFromString` at run time leaves the young generation at its 16 MiB semi-spaces):
 * `src/lab` puts them before the script (LocalCluster, the netns lab, `npm start`), packaging/corolink.service
 * passes the same in NODE_OPTIONS (test/daemon/node-flags.test.ts keeps the two equal). A 2 MiB semi-space keeps
 * the young generation at 4 MiB instead of up to 32 MiB under load, and large enough that a message living a token
 * rotation or two dies young (with 1 MiB the sender scavenged ≈ 110 times a second and promoted enough to run a
 * full collection every ≈ 230 ms: docs/benchmarks.md "the young generation and the sender's CPU"). 2, not 4: the
 * daemon no longer runs with `--optimize-for-size` (which had held the young generation at 2 MiB whatever this
 * said), and 4 MiB then cost ≈ 6 MiB of RSS after load (docs/benchmarks.md "optimized code thrown away at every
 * full GC"). The old-space ceiling sits above the largest bounded state (the replicated store's 128 MiB,
 * cfs/limits.ts) and turns a leak into a restart instead of a host out of memory.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--max-old-space-size=512'];

/**
 * V8 flags the daemon sets on itself as it starts (startDaemon, before it reads its config), for every way a daemon
 * starts (NODE_OPTIONS refuses them). `--no-allocation-site-pretenuring`: V8 may decide, at a scavenge with the young
 * generation at its limit, that an object literal's objects live long (≥ 85 % of them survived) and from then on
 * allocate that literal's objects in the old generation. Some starts did that for a literal the data path then
 * allocates per message, whose objects die at once: the old generation filled with them and the sender ran a full
 * collection every ≈ 150 ms, 67–102 in a bench:vs-corosync throughput sequence against 3–8 (n1's CPU per 64 KiB
 * message 710–850 µs against 410–480, 1 KiB −10 %); which starts did was chance, so the same build measured fast
 * or slow (docs/benchmarks.md "a start's pretenuring decision"). The daemon's long-lived state is small and built
 * once and reaches the old generation the normal way (two scavenges): with the flag, bench:vs-corosync's cold start,
 * idle CPU and idle RSS stayed where they were (docs/benchmarks.md "2026-12-06 (session 25)").
 */
export const DAEMON_V8_RUNTIME_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/**
 * glibc malloc settings of the daemon, in its environment at start (glibc reads them once, before node runs):
 * `src/lab` spawns LocalCluster's and the netns lab's daemons with them, packaging/corolink.service sets the same
 * (test/daemon/node-flags.test.ts keeps the two equal). Setting any of the first two also fixes glibc's mmap
 * threshold at its 128 KiB start instead of letting it rise after each large free, which had put large message
 * buffers in the main arena for good. Measured with bench:daemon (docs/daemon.md "Memory"): RSS per daemon after
 * bench:vs-corosync's throughput phases 86–90 → 80–84 MiB, CPU per message unchanged. A 64 KiB mmap threshold
 * saved more (78–79 MiB) but cost 8 µs of CPU per message (every UDP read was a 64 KiB buffer): not taken; measured
 * again with the batched link sockets, it no longer cost CPU but no longer saved memory either, and 16 KiB saved
 * ≈ 2 MiB for +20–40 % of the sender's CPU per 64 KiB message (docs/benchmarks.md "2026-12-07 (session 28)").
 */
export const DAEMON_MALLOC_ENV: Readonly<Record<string, string>> = {
  /** Free memory at the main arena's top above this goes back to the kernel at once (default 128 KiB, rising). */
  MALLOC_TRIM_THRESHOLD_: '65536',
  /** Extra memory asked from the kernel each time the main arena grows (default 128 KiB). */
  MALLOC_TOP_PAD_: '65536',
  /** Arenas for node's threads, each keeping its own free memory (default 8 per core). */
  MALLOC_ARENA_MAX: '2',
};
