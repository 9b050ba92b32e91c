/*
 * corolink's native addon (docs/crypto.md "The AEAD engine", docs/transport.md "The link sockets"): AES-256-GCM
 * with a context per key (aead.c) and the link sockets' batched datagram I/O (udp.c). Built by
 * scripts/build-native.mjs; optional — without it the daemon uses node:crypto and node:dgram.
 */
#include "napi-args.h"

static napi_value init(napi_env env, napi_value exports) {
  NAPI_OK(napi_define_properties(env, exports, AEAD_METHODS_COUNT, AEAD_METHODS));
  NAPI_OK(napi_define_properties(env, exports, UDP_METHODS_COUNT, UDP_METHODS));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
