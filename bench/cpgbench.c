/*
 * cpgbench - CPG (corosync closed process group) throughput / latency benchmark.
 *
 * build: gcc -O2 -Wall -o cpgbench cpgbench.c -lcpg
 *
 * usage: cpgbench -m send|recv|lat [-s SIZE] [-n COUNT] [-S NSENDERS] [-w MEMBERS] [-g GROUP]
 *                 [-W WARMUP] [-T TIMEOUT_S]
 *   send : wait until the group has MEMBERS members, multicast COUNT messages of SIZE bytes
 *          (CPG_TYPE_AGREED) as fast as flow control allows (CS_ERR_TRY_AGAIN -> dispatch and
 *          retry), then keep dispatching until all messages of all NSENDERS senders are delivered.
 *   recv : join and count deliveries until NSENDERS senders have each delivered their total.
 *   lat  : (one sender) WARMUP + COUNT round trips: multicast one message and wait for its own
 *          agreed-order self-delivery; prints min/p50/p90/p99/max RTT in microseconds.
 * Every process prints one JSON line with what it observed.  An order hash over the sequence of
 * (sender nodeid, seq) of all deliveries is printed so that agreed order can be compared across nodes.
 *
 * corolink's copy of ../shared/anchors/corosync/cpgbench.c (the anchor stays untouched), extended for
 * bench/vs-corosync.ts's multi-sender rows: "per_sender" lists, per sending node, the messages delivered here
 * and the seconds from the earliest sender's start to the last of them delivered here.
 */
#define _GNU_SOURCE
#include <corosync/cpg.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x43504742u
#define MAXNODES 64

struct hdr {
	uint32_t magic;
	uint32_t nodeid;
	uint32_t seq;
	uint32_t total;
	uint64_t t_send;
	uint64_t t_start;
};

static cpg_handle_t handle;
static uint32_t my_nodeid;
static int members;
static char mode[8] = "recv";
static uint64_t recv_count[MAXNODES + 1], recv_total[MAXNODES + 1];
static uint32_t expect_seq[MAXNODES + 1];
static uint64_t fifo_errors, delivered, delivered_bytes, order_hash = 1469598103934665603ull;
static uint64_t t_first, t_last, t_start_min;
static uint64_t t_last_from[MAXNODES + 1];
static int senders_done;
static uint32_t lat_wait_seq = 0xffffffffu;
static int lat_got;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void deliver_cb(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t len)
{
	const struct hdr *m = msg;
	uint64_t t = now_ns();
	(void)h; (void)g; (void)pid;
	if (len < sizeof(*m) || m->magic != MAGIC || m->nodeid > MAXNODES)
		return;
	if (!t_first)
		t_first = t;
	t_last = t;
	if (!t_start_min || m->t_start < t_start_min)
		t_start_min = m->t_start;
	delivered++;
	delivered_bytes += len;
	order_hash = (order_hash ^ (((uint64_t)m->nodeid << 32) | m->seq)) * 1099511628211ull;
	if (m->seq != expect_seq[m->nodeid])
		fifo_errors++;
	expect_seq[m->nodeid] = m->seq + 1;
	recv_total[m->nodeid] = m->total;
	t_last_from[m->nodeid] = t;
	if (++recv_count[m->nodeid] == m->total)
		senders_done++;
	if (nodeid == my_nodeid && m->seq == lat_wait_seq)
		lat_got = 1;
}

static void confchg_cb(cpg_handle_t h, const struct cpg_name *g,
		       const struct cpg_address *ml, size_t mle,
		       const struct cpg_address *ll, size_t lle,
		       const struct cpg_address *jl, size_t jle)
{
	(void)h; (void)g; (void)ml; (void)ll; (void)lle; (void)jl; (void)jle;
	members = (int)mle;
}

static cpg_callbacks_t callbacks = { .cpg_deliver_fn = deliver_cb, .cpg_confchg_fn = confchg_cb };

static int fd;
static void pump(int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) > 0) {
		cs_error_t e = cpg_dispatch(handle, CS_DISPATCH_ALL);
		if (e != CS_OK && e != CS_ERR_TRY_AGAIN) {
			fprintf(stderr, "cpg_dispatch: %d\n", e);
			exit(2);
		}
	}
}

static uint64_t tryagain;
static void send_one(void *buf, size_t size)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	cs_error_t e;
	while ((e = cpg_mcast_joined(handle, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN) {
		tryagain++;
		pump(1);
	}
	if (e != CS_OK) {
		fprintf(stderr, "cpg_mcast_joined: %d\n", e);
		exit(2);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t size = 1024;
	long count = 10000, warmup = 100;
	int nsenders = 1, want_members = 3, timeout_s = 120, opt;
	struct cpg_name group = { 0 };
	const char *gname = "cpgbench";

	while ((opt = getopt(argc, argv, "m:s:n:S:w:g:W:T:")) != -1) {
		switch (opt) {
		case 'm': snprintf(mode, sizeof(mode), "%s", optarg); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'n': count = strtol(optarg, NULL, 0); break;
		case 'S': nsenders = atoi(optarg); break;
		case 'w': want_members = atoi(optarg); break;
		case 'g': gname = optarg; break;
		case 'W': warmup = strtol(optarg, NULL, 0); break;
		case 'T': timeout_s = atoi(optarg); break;
		default: fprintf(stderr, "bad args\n"); return 1;
		}
	}
	if (size < sizeof(struct hdr))
		size = sizeof(struct hdr);
	group.length = strlen(gname);
	memcpy(group.value, gname, group.length);

	cs_error_t e;
	if ((e = cpg_initialize(&handle, &callbacks)) != CS_OK) { fprintf(stderr, "cpg_initialize: %d\n", e); return 2; }
	if ((e = cpg_local_get(handle, &my_nodeid)) != CS_OK) { fprintf(stderr, "cpg_local_get: %d\n", e); return 2; }
	while ((e = cpg_join(handle, &group)) == CS_ERR_TRY_AGAIN) usleep(10000);
	if (e != CS_OK) { fprintf(stderr, "cpg_join: %d\n", e); return 2; }
	cpg_fd_get(handle, &fd);

	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	char *buf = calloc(1, size);
	struct hdr *h = (struct hdr *)buf;
	for (size_t i = sizeof(*h); i < size; i++) buf[i] = (char)i;
	uint64_t t_send_start = 0, t_send_end = 0;
	uint64_t *rtt = NULL;
	long nrtt = 0;

	if (!strcmp(mode, "send") || !strcmp(mode, "lat")) {
		while (members < want_members && now_ns() < deadline)
			pump(100);
		if (members < want_members) { fprintf(stderr, "only %d members\n", members); return 3; }
	}

	if (!strcmp(mode, "send")) {
		t_send_start = now_ns();
		h->magic = MAGIC; h->nodeid = my_nodeid; h->total = count; h->t_start = t_send_start;
		for (long i = 0; i < count; i++) {
			h->seq = i;
			h->t_send = now_ns();
			send_one(buf, size);
			if ((i & 63) == 63)
				pump(0);
		}
		t_send_end = now_ns();
	} else if (!strcmp(mode, "lat")) {
		long total = warmup + count;
		rtt = calloc(count, sizeof(*rtt));
		t_send_start = now_ns();
		h->magic = MAGIC; h->nodeid = my_nodeid; h->total = total; h->t_start = t_send_start;
		for (long i = 0; i < total; i++) {
			h->seq = i;
			lat_wait_seq = i;
			lat_got = 0;
			uint64_t t0 = now_ns();
			h->t_send = t0;
			send_one(buf, size);
			while (!lat_got && now_ns() < deadline)
				pump(100);
			if (!lat_got) { fprintf(stderr, "lat timeout\n"); return 4; }
			if (i >= warmup)
				rtt[nrtt++] = now_ns() - t0;
		}
		t_send_end = now_ns();
		nsenders = 1;
	}
	/* everybody: dispatch until all senders completed */
	while (senders_done < nsenders && now_ns() < deadline)
		pump(100);

	double el_recv = t_last > t_first ? (t_last - t_first) / 1e9 : 0;
	double el_e2e = t_last > t_start_min ? (t_last - t_start_min) / 1e9 : 0;
	printf("{\"node\":%u,\"mode\":\"%s\",\"size\":%zu,\"count\":%ld,\"senders\":%d,\"complete\":%s,"
	       "\"delivered\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"elapsed_first_to_last_s\":%.6f,"
	       "\"elapsed_from_send_start_s\":%.6f,\"msgs_per_s\":%.1f,\"MB_per_s\":%.3f,"
	       "\"fifo_errors\":%" PRIu64 ",\"order_hash\":\"%016" PRIx64 "\"",
	       my_nodeid, mode, size, count, nsenders, senders_done >= nsenders ? "true" : "false",
	       delivered, delivered_bytes, el_recv, el_e2e,
	       el_e2e > 0 ? delivered / el_e2e : 0, el_e2e > 0 ? delivered_bytes / el_e2e / 1e6 : 0,
	       fifo_errors, order_hash);
	if (t_send_start)
		printf(",\"send_loop_s\":%.6f,\"tryagain\":%" PRIu64, (t_send_end - t_send_start) / 1e9, tryagain);
	printf(",\"per_sender\":[");
	for (int n = 0, first = 1; n <= MAXNODES; n++) {
		if (!recv_count[n])
			continue;
		printf("%s{\"nodeid\":%d,\"delivered\":%" PRIu64 ",\"last_from_send_start_s\":%.6f}",
		       first ? "" : ",", n, recv_count[n],
		       t_last_from[n] > t_start_min ? (t_last_from[n] - t_start_min) / 1e9 : 0);
		first = 0;
	}
	printf("]");
	if (nrtt) {
		qsort(rtt, nrtt, sizeof(*rtt), cmp_u64);
		double sum = 0, stall = 0;
		long over10 = 0;
		for (long i = 0; i < nrtt; i++) {
			sum += rtt[i];
			if (rtt[i] > 10000000ull) { over10++; stall += rtt[i]; }
		}
		printf(",\"rtt_over_10ms\":%ld,\"rtt_over_10ms_total_s\":%.3f", over10, stall / 1e9);
		printf(",\"rtt_n\":%ld,\"rtt_us_min\":%.1f,\"rtt_us_p50\":%.1f,\"rtt_us_p90\":%.1f,"
		       "\"rtt_us_p99\":%.1f,\"rtt_us_max\":%.1f,\"rtt_us_mean\":%.1f",
		       nrtt, rtt[0] / 1e3, rtt[nrtt / 2] / 1e3, rtt[(nrtt * 90) / 100] / 1e3,
		       rtt[(nrtt * 99) / 100] / 1e3, rtt[nrtt - 1] / 1e3, sum / nrtt / 1e3);
	}
	printf("}\n");
	fflush(stdout);
	cpg_leave(handle, &group);
	cpg_finalize(handle);
	return senders_done >= nsenders ? 0 : 5;
}
