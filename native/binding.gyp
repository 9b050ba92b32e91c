# The optional native addon (docs/crypto.md "The AEAD engine", docs/transport.md "The link sockets"): built by
# scripts/build-native.mjs.
{
  "targets": [
    {
      "target_name": "corolink_native",
      "sources": ["addon.c", "aead.c", "udp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
