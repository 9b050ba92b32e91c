/*
 * A link's UDP socket with batched reads (docs/transport.md "The link sockets"): what knet does with recvmmsg.
 * node:dgram reads one datagram per call into a fresh 64 KiB allocation, trims it, and calls JavaScript once per
 * datagram with a new Buffer and a new address string (≈ 2.6 µs of CPU per 1 KiB datagram here, before the
 * transport sees it). This socket reads up to `slots` datagrams per recvmmsg into one arena that JavaScript owns,
 * and calls JavaScript once per batch with the count; each slot's length, port and address are in `meta`.
 *
 *   udpOpen(family 4|6, address, port, bufferBytes, arena: Buffer, meta: Int32Array, onBatch, onWritable) -> handle
 *       binds (throws an Error with code, errno, syscall, address, port when it cannot), sets SO_RCVBUF/SO_SNDBUF,
 *       and reads whenever the socket is readable: onBatch(count) after each recvmmsg that read `count` datagrams
 *       into the arena (slot i at i × arena.length / slots, slots = meta.length / META_INTS), onBatch(-errno) when a
 *       read failed. meta per slot: [length or -1 when truncated, port, family, address words ×4 (host order),
 *       segment]. With UDP_GRO (Linux 5.0; set where the kernel has it) one slot may hold several datagrams of one
 *       peer that came as one GSO send: `segment` is then their size (the last may be shorter), else 0.
 *   udpDestination(handle, address, port) -> id       a peer address parsed once; sends name it by id
 *   udpSend(handle, id, datagram) -> 0 or errno       one sendto, not queued: EAGAIN is the caller's to handle
 *   udpFlush(handle, staging: Buffer, entries: Int32Array, count) -> 0, or the errno that turned GSO off
 *       sends `count` staged datagrams (entry i is ints [4i, 4i + 4) of `entries`: destination id, offset, length,
 *       status; its bytes are staging[offset, offset + length)) with as few system calls and trips through the
 *       network stack as it can: one destination's consecutive datagrams of one size (the last may be shorter) go
 *       as one UDP GSO send (UDP_SEGMENT: the kernel cuts them into datagrams again where it must, so routing, a
 *       bridge and a veth pair see one packet), and a flush's sends go in one sendmmsg. Each destination's datagrams
 *       keep their order. Writes each entry's status: 0 sent, the errno of a failed send, -1 not sent because the
 *       send buffer is full (nothing after it was sent either). Where a GSO send fails, its datagrams go one by one
 *       (each with its own result); when GSO is what failed (a device without checksum offload: EIO; datagrams over
 *       the route's MTU: EMSGSIZE, EINVAL on older kernels), so does every later send of the socket.
 *   udpWantWritable(handle, boolean)                   onWritable() once the socket has room again
 *   udpClose(handle)                                   stops reading and closes the socket; idempotent
 *
 * Everything runs on the JavaScript thread, in libuv's poll phase: no locks, no threads.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "napi-args.h"

/* Ints of `meta` per slot. */
#define META_INTS 8
/* Batches read per readable event before the loop runs its other handles (one batch short of full ends it). */
#define BATCHES_PER_EVENT_MAX 8
/* Peer addresses one socket keeps (nodes × addresses on one link). */
#define DESTINATIONS_MAX 4096
/* Longest textual address with a scope (INET6_ADDRSTRLEN + "%" + IF_NAMESIZE). */
#define ADDRESS_TEXT_MAX 64
/* Ints of udpFlush's `entries` per staged datagram. */
#define ENTRY_INTS 4
/* Staged datagrams one udpFlush sends at most. */
#define FLUSH_DATAGRAMS_MAX 4096
/* One GSO send carries at most this many datagrams (the kernel's UDP_MAX_SEGMENTS: 64, 128 in newer kernels) ... */
#define GSO_DATAGRAMS_MAX 64
/* ... and at most this many bytes (the largest UDP payload of an IPv4 packet; IPv6 allows 20 more). */
#define GSO_BYTES_MAX 65507
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, Linux 4.18 */
#endif
#ifndef UDP_GRO
#define UDP_GRO 104 /* linux/udp.h, Linux 5.0 */
#endif
/* A read slot's control block: room for the UDP_GRO segment size. */
#define RECV_CONTROL_BYTES CMSG_SPACE(sizeof(int))
#define NO_RUN UINT32_MAX

/* One destination's datagrams that go in one send: the first one's size, then as long or (the last) shorter. */
typedef struct {
  unsigned destination;
  unsigned segment;
  unsigned datagrams;
  size_t bytes;
  bool ended; /* a shorter datagram ended it */
  unsigned first_vector;
  unsigned vectors_filled;
} run_t;

/* udpFlush's work arrays, grown to the largest flush (a run, message, control block and vector per datagram at
 * most) and to the socket's destinations. */
typedef struct {
  unsigned capacity;
  run_t *runs;
  struct mmsghdr *messages;
  char (*controls)[CMSG_SPACE(sizeof(uint16_t))];
  struct iovec *vectors;
  unsigned *vector_entry; /* vector → the entry it sends */
  unsigned *entry_run;
  unsigned destination_capacity;
  unsigned *newest_run; /* destination → its newest run in this flush, or NO_RUN */
} flush_work_t;

typedef struct {
  struct sockaddr_storage address;
  socklen_t length;
} destination_t;

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int family; /* 4 or 6: of the bound address, and so of every destination */
  bool closed;
  int events;
  napi_ref arena_ref, meta_ref, on_batch_ref, on_writable_ref;
  napi_async_context async;
  unsigned char *arena;
  int32_t *meta;
  unsigned slots;
  size_t slot_bytes;
  struct mmsghdr *messages;
  struct iovec *vectors;
  struct sockaddr_storage *sources;
  char (*recv_controls)[RECV_CONTROL_BYTES];
  destination_t *destinations;
  unsigned destination_count;
  bool gso_off; /* a GSO send failed on this socket: its datagrams go one by one */
  flush_work_t flush;
} udp_socket_t;

/* Throws an Error like node:dgram's ("bind EADDRINUSE 127.0.0.1:5405") with code, errno, syscall, address, port. */
static void throw_errno(napi_env env, int error, const char *syscall, const char *address, uint32_t port) {
  const char *code = uv_err_name(uv_translate_sys_error(error));
  char message[160];
  snprintf(message, sizeof message, "%s %s %s:%u", syscall, code, address, port);
  napi_value text, error_value, value;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, NULL, text, &error_value) != napi_ok)
    return;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &value) == napi_ok)
    napi_set_named_property(env, error_value, "code", value);
  if (napi_create_int32(env, -error, &value) == napi_ok) napi_set_named_property(env, error_value, "errno", value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value) == napi_ok)
    napi_set_named_property(env, error_value, "syscall", value);
  if (napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &value) == napi_ok)
    napi_set_named_property(env, error_value, "address", value);
  if (napi_create_uint32(env, port, &value) == napi_ok) napi_set_named_property(env, error_value, "port", value);
  napi_throw(env, error_value);
}

/* Parses "a.b.c.d" or an IPv6 address with an optional "%scope" (interface name or index) into `out`. */
static bool parse_address(int family, const char *text, uint32_t port, destination_t *out) {
  memset(out, 0, sizeof *out);
  if (family == 4) {
    struct sockaddr_in *in = (struct sockaddr_in *)&out->address;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    out->length = sizeof *in;
    return inet_pton(AF_INET, text, &in->sin_addr) == 1;
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->address;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons((uint16_t)port);
  out->length = sizeof *in6;
  char host[ADDRESS_TEXT_MAX];
  snprintf(host, sizeof host, "%s", text);
  char *scope = strchr(host, '%');
  if (scope != NULL) {
    *scope++ = '\0';
    char *end = NULL;
    unsigned long index = strtoul(scope, &end, 10);
    in6->sin6_scope_id = (*scope != '\0' && *end == '\0') ? (uint32_t)index : if_nametoindex(scope);
    if (in6->sin6_scope_id == 0) return false;
  }
  return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1;
}

static udp_socket_t *handle_arg(napi_env env, napi_value value) {
  return external_arg(env, value, "handle: not a UDP socket");
}

static bool uint32_arg(napi_env env, napi_value value, uint32_t max, uint32_t *out, const char *name) {
  size_t number = 0;
  if (!length_arg(env, value, max, &number, name)) return false;
  *out = (uint32_t)number;
  return true;
}

static bool string_arg(napi_env env, napi_value value, char *out, size_t size, const char *name) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok || length + 1 >= size) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  return true;
}

/* Calls a referenced JavaScript function as an event-loop callback: its microtasks and ticks run after it. */
static void call_back(udp_socket_t *socket, napi_ref function_ref, int32_t argument, bool with_argument) {
  napi_env env = socket->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value function, receiver, argv[1], result;
  if (napi_get_reference_value(env, function_ref, &function) == napi_ok &&
      napi_get_global(env, &receiver) == napi_ok && napi_create_int32(env, argument, &argv[0]) == napi_ok) {
    napi_status status =
        napi_make_callback(env, socket->async, receiver, function, with_argument ? 1 : 0, argv, &result);
    if (status == napi_pending_exception) {
      /* As an exception thrown by a node:dgram 'message' listener: the process's uncaught-exception path. */
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* Writes slot i's length, port, family and address into meta. */
static void describe_slot(udp_socket_t *socket, unsigned i) {
  const struct mmsghdr *message = &socket->messages[i];
  int32_t *meta = &socket->meta[i * META_INTS];
  memset(meta, 0, META_INTS * sizeof *meta);
  meta[0] = (message->msg_hdr.msg_flags & MSG_TRUNC) != 0 ? -1 : (int32_t)message->msg_len;
  const struct sockaddr_storage *source = &socket->sources[i];
  if (source->ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)source;
    meta[1] = ntohs(in->sin_port);
    meta[2] = 4;
    meta[3] = (int32_t)ntohl(in->sin_addr.s_addr);
  } else if (source->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)source;
    meta[1] = ntohs(in6->sin6_port);
    meta[2] = 6;
    for (int word = 0; word < 4; word++) {
      uint32_t bytes;
      memcpy(&bytes, &in6->sin6_addr.s6_addr[word * 4], sizeof bytes);
      meta[3 + word] = (int32_t)ntohl(bytes);
    }
  }
  for (struct cmsghdr *control = CMSG_FIRSTHDR(&message->msg_hdr); control != NULL;
       control = CMSG_NXTHDR((struct msghdr *)&message->msg_hdr, control)) {
    if (control->cmsg_level == SOL_UDP && control->cmsg_type == UDP_GRO) {
      int segment;
      memcpy(&segment, CMSG_DATA(control), sizeof segment);
      meta[7] = segment;
    }
  }
}

/* Reads batches until the socket is empty, the batch budget is spent or JavaScript closed the socket. */
static void read_batches(udp_socket_t *socket) {
  for (int batch = 0; batch < BATCHES_PER_EVENT_MAX && !socket->closed; batch++) {
    for (unsigned i = 0; i < socket->slots; i++) {
      socket->messages[i].msg_hdr.msg_namelen = sizeof socket->sources[i];
      socket->messages[i].msg_hdr.msg_flags = 0;
      socket->messages[i].msg_hdr.msg_controllen = RECV_CONTROL_BYTES;
      socket->messages[i].msg_len = 0;
    }
    int count = recvmmsg(socket->fd, socket->messages, socket->slots, MSG_DONTWAIT, NULL);
    if (count < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) call_back(socket, socket->on_batch_ref, -errno, true);
      return;
    }
    for (unsigned i = 0; i < (unsigned)count; i++) describe_slot(socket, i);
    call_back(socket, socket->on_batch_ref, count, true);
    if ((unsigned)count < socket->slots) return;
  }
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  udp_socket_t *socket = poll->data;
  if (socket->closed) return;
  if (status < 0) {
    call_back(socket, socket->on_batch_ref, status, true); /* a libuv error is already a negative errno */
    return;
  }
  if ((events & UV_WRITABLE) != 0) {
    socket->events &= ~UV_WRITABLE; /* once: JavaScript asks again if its sends still do not fit */
    uv_poll_start(&socket->poll, socket->events, on_poll);
    call_back(socket, socket->on_writable_ref, 0, false);
  }
  if ((events & UV_READABLE) != 0 && !socket->closed) read_batches(socket);
}

/* Frees the arrays of one entry per datagram. */
static void flush_work_free_datagrams(flush_work_t *work) {
  free(work->runs);
  free(work->messages);
  free(work->controls);
  free(work->vectors);
  free(work->vector_entry);
  free(work->entry_run);
  work->runs = NULL;
  work->messages = NULL;
  work->controls = NULL;
  work->vectors = NULL;
  work->vector_entry = NULL;
  work->entry_run = NULL;
  work->capacity = 0;
}

static void flush_work_free(flush_work_t *work) {
  flush_work_free_datagrams(work);
  free(work->newest_run);
  work->newest_run = NULL;
  work->destination_capacity = 0;
}

static void free_socket(uv_handle_t *handle) {
  udp_socket_t *socket = handle->data;
  free(socket->messages);
  free(socket->vectors);
  free(socket->sources);
  free(socket->recv_controls);
  free(socket->destinations);
  flush_work_free(&socket->flush);
  free(socket);
}

/* Releases what `open` took; the memory goes once libuv has closed the poll handle (or at once if never started). */
static void release(udp_socket_t *socket, bool poll_started) {
  napi_env env = socket->env;
  socket->closed = true;
  if (socket->fd >= 0) close(socket->fd);
  socket->fd = -1;
  napi_ref *refs[] = {&socket->arena_ref, &socket->meta_ref, &socket->on_batch_ref, &socket->on_writable_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    if (*refs[i] != NULL) napi_delete_reference(env, *refs[i]);
    *refs[i] = NULL;
  }
  if (socket->async != NULL) napi_async_destroy(env, socket->async);
  socket->async = NULL;
  if (poll_started) {
    uv_poll_stop(&socket->poll);
    uv_close((uv_handle_t *)&socket->poll, free_socket);
  } else {
    free_socket((uv_handle_t *)&socket->poll);
  }
}

/* A non-blocking, close-on-exec datagram socket (-1 and errno when it cannot be made). */
static int socket_create(int domain) {
  return socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static bool reference(napi_env env, napi_value value, napi_ref *out) {
  return napi_create_reference(env, value, 1, out) == napi_ok;
}

static napi_value udp_open(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!exact_args(env, info, 8, argv, "udpOpen: 8 arguments")) return NULL;
  uint32_t family = 0, port = 0, buffer_bytes = 0;
  char address[ADDRESS_TEXT_MAX];
  bytes_t arena;
  void *meta_data = NULL;
  size_t meta_length = 0;
  napi_typedarray_type meta_type;
  bool is_typedarray = false;
  napi_valuetype on_batch_type, on_writable_type;
  if (!uint32_arg(env, argv[0], 6, &family, "family: 4 or 6") ||
      !string_arg(env, argv[1], address, sizeof address, "address: a string") ||
      !uint32_arg(env, argv[2], 65535, &port, "port: 0..65535") ||
      !uint32_arg(env, argv[3], INT32_MAX, &buffer_bytes, "bufferBytes: a size") ||
      !buffer_arg(env, argv[4], &arena, "arena: a Buffer"))
    return NULL;
  if (napi_is_typedarray(env, argv[5], &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, argv[5], &meta_type, &meta_length, &meta_data, NULL, NULL) != napi_ok ||
      meta_type != napi_int32_array || napi_typeof(env, argv[6], &on_batch_type) != napi_ok ||
      napi_typeof(env, argv[7], &on_writable_type) != napi_ok || on_batch_type != napi_function ||
      on_writable_type != napi_function) {
    napi_throw_type_error(env, NULL, "udpOpen: meta an Int32Array, onBatch and onWritable functions");
    return NULL;
  }
  unsigned slots = (unsigned)(meta_length / META_INTS);
  if ((family != 4 && family != 6) || slots == 0 || meta_length % META_INTS != 0 || arena.length % slots != 0 ||
      arena.length / slots == 0) {
    napi_throw_range_error(env, NULL, "udpOpen: family 4 or 6, meta of 8 ints per slot, arena of equal slots");
    return NULL;
  }
  destination_t local;
  if (!parse_address((int)family, address, port, &local)) {
    napi_throw_error(env, NULL, "udpOpen: the address does not parse");
    return NULL;
  }
  udp_socket_t *socket = calloc(1, sizeof *socket);
  if (socket == NULL) {
    napi_throw_error(env, NULL, "udpOpen: out of memory");
    return NULL;
  }
  socket->env = env;
  socket->fd = -1;
  socket->family = (int)family;
  socket->poll.data = socket;
  socket->arena = arena.data;
  socket->meta = meta_data;
  socket->slots = slots;
  socket->slot_bytes = arena.length / slots;
  socket->messages = calloc(slots, sizeof *socket->messages);
  socket->vectors = calloc(slots, sizeof *socket->vectors);
  socket->sources = calloc(slots, sizeof *socket->sources);
  socket->recv_controls = calloc(slots, sizeof *socket->recv_controls);
  napi_value name;
  if (socket->messages == NULL || socket->vectors == NULL || socket->sources == NULL || socket->recv_controls == NULL ||
      !reference(env, argv[4], &socket->arena_ref) || !reference(env, argv[5], &socket->meta_ref) ||
      !reference(env, argv[6], &socket->on_batch_ref) || !reference(env, argv[7], &socket->on_writable_ref) ||
      napi_create_string_utf8(env, "corolink.udp", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &socket->async) != napi_ok) {
    release(socket, false);
    napi_throw_error(env, NULL, "udpOpen: out of memory");
    return NULL;
  }
  for (unsigned i = 0; i < slots; i++) {
    socket->vectors[i].iov_base = socket->arena + i * socket->slot_bytes;
    socket->vectors[i].iov_len = socket->slot_bytes;
    socket->messages[i].msg_hdr.msg_iov = &socket->vectors[i];
    socket->messages[i].msg_hdr.msg_iovlen = 1;
    socket->messages[i].msg_hdr.msg_name = &socket->sources[i];
    socket->messages[i].msg_hdr.msg_control = socket->recv_controls[i];
  }
  int one = 1, size = (int)buffer_bytes;
  const char *failed = NULL;
  socket->fd = socket_create(family == 4 ? AF_INET : AF_INET6);
  if (socket->fd < 0)
    failed = "socket";
  else if (family == 6 && setsockopt(socket->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    failed = "setsockopt";
  else if (bind(socket->fd, (struct sockaddr *)&local.address, local.length) != 0)
    failed = "bind";
  else if (setsockopt(socket->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0 ||
           setsockopt(socket->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0)
    failed = "setsockopt";
  else
    (void)setsockopt(socket->fd, SOL_UDP, UDP_GRO, &one, sizeof one); /* a kernel without it sends one by one */
  if (failed != NULL) {
    int error = errno;
    release(socket, false);
    throw_errno(env, error, failed, address, port);
    return NULL;
  }
  uv_loop_t *loop = NULL;
  socket->events = UV_READABLE;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, &socket->poll, socket->fd) != 0) {
    release(socket, false);
    napi_throw_error(env, NULL, "udpOpen: libuv could not watch the socket");
    return NULL;
  }
  socket->poll.data = socket;
  if (uv_poll_start(&socket->poll, socket->events, on_poll) != 0) {
    release(socket, true);
    napi_throw_error(env, NULL, "udpOpen: libuv could not watch the socket");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, socket, NULL, NULL, &handle) != napi_ok) {
    release(socket, true);
    return NULL;
  }
  return handle;
}

/* An open socket's handle, or NULL (an exception pending) when it is not one or is closed. */
static udp_socket_t *open_handle_arg(napi_env env, napi_value value) {
  udp_socket_t *socket = handle_arg(env, value);
  if (socket != NULL && socket->closed) {
    napi_throw_error(env, NULL, "the UDP socket is closed");
    return NULL;
  }
  return socket;
}

static napi_value udp_destination(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  if (!exact_args(env, info, 3, argv, "udpDestination: 3 arguments")) return NULL;
  udp_socket_t *socket = open_handle_arg(env, argv[0]);
  char address[ADDRESS_TEXT_MAX];
  uint32_t port = 0;
  if (socket == NULL || !string_arg(env, argv[1], address, sizeof address, "address: a string") ||
      !uint32_arg(env, argv[2], 65535, &port, "port: 0..65535"))
    return NULL;
  destination_t parsed;
  if (!parse_address(socket->family, address, port, &parsed)) {
    napi_throw_error(env, NULL, "udpDestination: not an address of the socket's family");
    return NULL;
  }
  for (unsigned id = 0; id < socket->destination_count; id++) {
    const destination_t *known = &socket->destinations[id];
    if (known->length == parsed.length && memcmp(&known->address, &parsed.address, parsed.length) == 0) {
      NAPI_OK(napi_create_uint32(env, id, &result));
      return result;
    }
  }
  if (socket->destination_count == DESTINATIONS_MAX) {
    napi_throw_range_error(env, NULL, "udpDestination: too many peer addresses on one socket");
    return NULL;
  }
  destination_t *grown = realloc(socket->destinations, (socket->destination_count + 1) * sizeof *grown);
  if (grown == NULL) {
    napi_throw_error(env, NULL, "udpDestination: out of memory");
    return NULL;
  }
  socket->destinations = grown;
  socket->destinations[socket->destination_count] = parsed;
  NAPI_OK(napi_create_uint32(env, socket->destination_count++, &result));
  return result;
}

/* One sendto, retried on EINTR: 0 or the errno. */
static int send_datagram(udp_socket_t *socket, const destination_t *to, const void *data, size_t length) {
  ssize_t sent;
  do {
    sent = sendto(socket->fd, data, length, 0, (const struct sockaddr *)&to->address, to->length);
  } while (sent < 0 && errno == EINTR);
  return sent < 0 ? errno : 0;
}

static napi_value udp_send(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  if (!exact_args(env, info, 3, argv, "udpSend: 3 arguments")) return NULL;
  udp_socket_t *socket = open_handle_arg(env, argv[0]);
  uint32_t id = 0;
  bytes_t datagram;
  if (socket == NULL || !uint32_arg(env, argv[1], UINT32_MAX, &id, "id: a destination") ||
      !buffer_arg(env, argv[2], &datagram, "datagram: a Buffer"))
    return NULL;
  if (id >= socket->destination_count) {
    napi_throw_range_error(env, NULL, "id: not a destination of this socket");
    return NULL;
  }
  NAPI_OK(napi_create_int32(env, send_datagram(socket, &socket->destinations[id], datagram.data, datagram.length),
                            &result));
  return result;
}

/* Grows the work arrays to `count` datagrams and `destinations` destinations; false when out of memory. */
static bool flush_work_reserve(flush_work_t *work, unsigned count, unsigned destinations) {
  if (count > work->capacity) {
    flush_work_free_datagrams(work);
    work->runs = calloc(count, sizeof *work->runs);
    work->messages = calloc(count, sizeof *work->messages);
    work->controls = calloc(count, sizeof *work->controls);
    work->vectors = calloc(count, sizeof *work->vectors);
    work->vector_entry = calloc(count, sizeof *work->vector_entry);
    work->entry_run = calloc(count, sizeof *work->entry_run);
    work->capacity = count;
    if (work->runs == NULL || work->messages == NULL || work->controls == NULL || work->vectors == NULL ||
        work->vector_entry == NULL || work->entry_run == NULL) {
      flush_work_free_datagrams(work);
      return false;
    }
  }
  if (destinations > work->destination_capacity) {
    unsigned *grown = realloc(work->newest_run, destinations * sizeof *grown);
    if (grown == NULL) return false;
    work->newest_run = grown;
    work->destination_capacity = destinations;
  }
  return true;
}

/* Cuts the staged datagrams into runs (each entry's run in entry_run; runs numbered in the order they start, so
 * sending them in that order keeps each destination's order) and returns how many. */
static unsigned cut_runs(udp_socket_t *socket, const int32_t *entries, unsigned count) {
  flush_work_t *work = &socket->flush;
  for (unsigned i = 0; i < count; i++) work->newest_run[entries[i * ENTRY_INTS]] = NO_RUN;
  unsigned run_count = 0;
  for (unsigned i = 0; i < count; i++) {
    unsigned destination = (unsigned)entries[i * ENTRY_INTS];
    size_t length = (size_t)entries[i * ENTRY_INTS + 2];
    unsigned newest = work->newest_run[destination];
    if (newest != NO_RUN && !socket->gso_off) {
      run_t *run = &work->runs[newest];
      if (!run->ended && run->datagrams < GSO_DATAGRAMS_MAX && length <= run->segment &&
          run->bytes + length <= GSO_BYTES_MAX) {
        run->datagrams++;
        run->bytes += length;
        run->ended = length < run->segment;
        work->entry_run[i] = newest;
        continue;
      }
    }
    work->runs[run_count] = (run_t){.destination = destination, .segment = (unsigned)length, .datagrams = 1,
                                    .bytes = length};
    work->newest_run[destination] = run_count;
    work->entry_run[i] = run_count++;
  }
  return run_count;
}

/* One message per run: its destination, its datagrams as vectors (in entry order), UDP_SEGMENT when it has more
 * than one. */
static void build_messages(udp_socket_t *socket, unsigned char *staging, const int32_t *entries, unsigned count,
                           unsigned run_count) {
  flush_work_t *work = &socket->flush;
  unsigned next_vector = 0;
  for (unsigned r = 0; r < run_count; r++) {
    work->runs[r].first_vector = next_vector;
    work->runs[r].vectors_filled = 0;
    next_vector += work->runs[r].datagrams;
  }
  for (unsigned i = 0; i < count; i++) {
    run_t *run = &work->runs[work->entry_run[i]];
    unsigned v = run->first_vector + run->vectors_filled++;
    work->vectors[v].iov_base = staging + entries[i * ENTRY_INTS + 1];
    work->vectors[v].iov_len = (size_t)entries[i * ENTRY_INTS + 2];
    work->vector_entry[v] = i;
  }
  for (unsigned r = 0; r < run_count; r++) {
    const run_t *run = &work->runs[r];
    struct msghdr *header = &work->messages[r].msg_hdr;
    destination_t *to = &socket->destinations[run->destination];
    memset(header, 0, sizeof *header);
    header->msg_name = &to->address;
    header->msg_namelen = to->length;
    header->msg_iov = &work->vectors[run->first_vector];
    header->msg_iovlen = run->datagrams;
    if (run->datagrams > 1) {
      header->msg_control = work->controls[r];
      header->msg_controllen = sizeof work->controls[r];
      struct cmsghdr *control = CMSG_FIRSTHDR(header);
      control->cmsg_level = SOL_UDP;
      control->cmsg_type = UDP_SEGMENT;
      control->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t segment = (uint16_t)run->segment;
      memcpy(CMSG_DATA(control), &segment, sizeof segment);
    }
  }
}

static void set_run_status(udp_socket_t *socket, int32_t *entries, unsigned r, int32_t status) {
  const run_t *run = &socket->flush.runs[r];
  for (unsigned v = run->first_vector; v < run->first_vector + run->datagrams; v++)
    entries[socket->flush.vector_entry[v] * ENTRY_INTS + 3] = status;
}

/* Sends run r's datagrams one sendto each; false when the send buffer filled (that datagram and the rest unsent). */
static bool send_one_by_one(udp_socket_t *socket, int32_t *entries, unsigned r) {
  const run_t *run = &socket->flush.runs[r];
  const destination_t *to = &socket->destinations[run->destination];
  for (unsigned v = run->first_vector; v < run->first_vector + run->datagrams; v++) {
    const struct iovec *vector = &socket->flush.vectors[v];
    int error = send_datagram(socket, to, vector->iov_base, vector->iov_len);
    if (error == EAGAIN || error == EWOULDBLOCK) return false;
    entries[socket->flush.vector_entry[v] * ENTRY_INTS + 3] = error;
  }
  return true;
}

/* Sends the runs in order; returns the errno that turned GSO off for the socket in this flush, else 0. */
static int send_runs(udp_socket_t *socket, int32_t *entries, unsigned run_count) {
  int gso_refused = 0;
  unsigned r = 0;
  while (r < run_count) {
    int sent = sendmmsg(socket->fd, &socket->flush.messages[r], run_count - r, 0);
    if (sent > 0) {
      for (int k = 0; k < sent; k++) set_run_status(socket, entries, r + (unsigned)k, 0);
      r += (unsigned)sent;
      continue;
    }
    int error = errno;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK) return gso_refused;
    if (socket->flush.runs[r].datagrams > 1) {
      /* What GSO cannot do here (no checksum offload: EIO; over the route's MTU: EMSGSIZE, EINVAL on older kernels)
       * turns it off for the socket; any other error is the datagrams' own, reported one by one as sendto does. */
      if ((error == EIO || error == EMSGSIZE || error == EINVAL) && !socket->gso_off) {
        socket->gso_off = true;
        gso_refused = error;
      }
      if (!send_one_by_one(socket, entries, r)) return gso_refused;
    } else {
      set_run_status(socket, entries, r, error);
    }
    r++;
  }
  return gso_refused;
}

static napi_value udp_flush(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!exact_args(env, info, 4, argv, "udpFlush: 4 arguments")) return NULL;
  udp_socket_t *socket = open_handle_arg(env, argv[0]);
  bytes_t staging;
  void *entries_data = NULL;
  size_t entries_length = 0;
  napi_typedarray_type entries_type;
  bool is_typedarray = false;
  uint32_t count = 0;
  if (socket == NULL || !buffer_arg(env, argv[1], &staging, "staging: a Buffer")) return NULL;
  if (napi_is_typedarray(env, argv[2], &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, argv[2], &entries_type, &entries_length, &entries_data, NULL, NULL) != napi_ok ||
      entries_type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "entries: an Int32Array");
    return NULL;
  }
  if (!uint32_arg(env, argv[3], FLUSH_DATAGRAMS_MAX, &count, "count: 0..4096 staged datagrams")) return NULL;
  int32_t *entries = entries_data;
  if ((size_t)count * ENTRY_INTS > entries_length) {
    napi_throw_range_error(env, NULL, "udpFlush: more datagrams than entries");
    return NULL;
  }
  for (unsigned i = 0; i < count; i++) {
    const int32_t *entry = &entries[i * ENTRY_INTS];
    if (entry[0] < 0 || (unsigned)entry[0] >= socket->destination_count || entry[1] < 0 || entry[2] < 0 ||
        (size_t)entry[1] + (size_t)entry[2] > staging.length) {
      napi_throw_range_error(env, NULL, "udpFlush: an entry names no destination or lies outside the staging buffer");
      return NULL;
    }
  }
  napi_value result;
  if (count == 0) {
    NAPI_OK(napi_create_int32(env, 0, &result));
    return result;
  }
  if (!flush_work_reserve(&socket->flush, count, socket->destination_count)) {
    napi_throw_error(env, NULL, "udpFlush: out of memory");
    return NULL;
  }
  for (unsigned i = 0; i < count; i++) entries[i * ENTRY_INTS + 3] = -1;
  unsigned run_count = cut_runs(socket, entries, count);
  build_messages(socket, staging.data, entries, count, run_count);
  NAPI_OK(napi_create_int32(env, send_runs(socket, entries, run_count), &result));
  return result;
}

static napi_value udp_want_writable(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!exact_args(env, info, 2, argv, "udpWantWritable: 2 arguments")) return NULL;
  udp_socket_t *socket = open_handle_arg(env, argv[0]);
  bool wanted = false;
  if (socket == NULL) return NULL;
  if (napi_get_value_bool(env, argv[1], &wanted) != napi_ok) {
    napi_throw_type_error(env, NULL, "wanted: a boolean");
    return NULL;
  }
  socket->events = wanted ? (socket->events | UV_WRITABLE) : (socket->events & ~UV_WRITABLE);
  if (uv_poll_start(&socket->poll, socket->events, on_poll) != 0) {
    napi_throw_error(env, NULL, "udpWantWritable: libuv could not watch the socket");
    return NULL;
  }
  return NULL;
}

static napi_value udp_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!exact_args(env, info, 1, argv, "udpClose: 1 argument")) return NULL;
  udp_socket_t *socket = handle_arg(env, argv[0]);
  if (socket != NULL && !socket->closed) release(socket, true);
  return NULL;
}

const napi_property_descriptor UDP_METHODS[] = {
    NAPI_METHOD("udpOpen", udp_open),
    NAPI_METHOD("udpDestination", udp_destination),
    NAPI_METHOD("udpSend", udp_send),
    NAPI_METHOD("udpFlush", udp_flush),
    NAPI_METHOD("udpWantWritable", udp_want_writable),
    NAPI_METHOD("udpClose", udp_close),
};
const size_t UDP_METHODS_COUNT = sizeof UDP_METHODS / sizeof UDP_METHODS[0];
