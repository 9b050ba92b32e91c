# The optional AES-256-GCM addon (docs/crypto.md "The AEAD engine"): built by scripts/build-native.mjs.
{
  "targets": [
    {
      "target_name": "corolink_aead",
      "sources": ["aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
