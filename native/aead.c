/*
 * AES-256-GCM with one OpenSSL cipher context per key, reused for every datagram: node:crypto builds a cipher
 * object, a context and the key schedule for each datagram (≈ 6.6 µs per 1 KiB seal here; this: ≈ 0.8 µs,
 * docs/benchmarks.md). The OpenSSL is the one Node links (its EVP symbols), so the bytes are node:crypto's bytes.
 *
 *   context(key: Buffer(32), encrypt: boolean) -> External     one per key and direction
 *   seal(context, nonce(12), aad, plain, out, outOffset)         out[outOffset..] = ciphertext | tag(16)
 *   open(context, nonce(12), datagram, aadBytes, tagOffset, out) -> boolean
 *       aad = datagram[0, aadBytes), ciphertext = datagram[aadBytes, tagOffset), tag = datagram[tagOffset, +16);
 *       out (ciphertext's length) receives the plaintext; false (out undefined) when the tag does not verify.
 *
 * A call with wrong argument types or lengths throws; open never throws on the datagram's bytes.
 */
#include <limits.h>
#include <openssl/evp.h>

#include "napi-args.h"

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16

static EVP_CIPHER_CTX *context_arg(napi_env env, napi_value value) {
  return external_arg(env, value, "context: not an AEAD context");
}

/* The six arguments of seal or open, the first one a context; NULL (an exception pending) when they are not. */
static EVP_CIPHER_CTX *six_args(napi_env env, napi_callback_info info, napi_value argv[6], const char *count_error) {
  return exact_args(env, info, 6, argv, count_error) ? context_arg(env, argv[0]) : NULL;
}

static void free_context(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_CTX_free(data);
}

static napi_value context(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bytes_t key;
  bool encrypt = false;
  if (!exact_args(env, info, 2, argv, "context: 2 arguments") || !buffer_arg(env, argv[0], &key, "key: a Buffer"))
    return NULL;
  if (key.length != KEY_BYTES) {
    napi_throw_range_error(env, NULL, "key: 32 bytes");
    return NULL;
  }
  if (napi_get_value_bool(env, argv[1], &encrypt) != napi_ok) {
    napi_throw_type_error(env, NULL, "encrypt: a boolean");
    return NULL;
  }
  EVP_CIPHER_CTX *cipher = EVP_CIPHER_CTX_new();
  if (cipher == NULL || EVP_CipherInit_ex(cipher, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) != 1 ||
      EVP_CipherInit_ex(cipher, NULL, NULL, key.data, NULL, encrypt) != 1) {
    EVP_CIPHER_CTX_free(cipher);
    napi_throw_error(env, NULL, "OpenSSL could not set up AES-256-GCM");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, cipher, free_context, NULL, &external) != napi_ok) {
    EVP_CIPHER_CTX_free(cipher);
    return NULL;
  }
  return external;
}

static napi_value seal(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  EVP_CIPHER_CTX *cipher = six_args(env, info, argv, "seal: 6 arguments");
  bytes_t nonce, aad, plain, out;
  size_t offset;
  if (cipher == NULL || !buffer_arg(env, argv[1], &nonce, "nonce: a Buffer") ||
      !buffer_arg(env, argv[2], &aad, "aad: a Buffer") || !buffer_arg(env, argv[3], &plain, "plain: a Buffer") ||
      !buffer_arg(env, argv[4], &out, "out: a Buffer") || !length_arg(env, argv[5], out.length, &offset, "outOffset"))
    return NULL;
  if (nonce.length != NONCE_BYTES || aad.length > INT_MAX || plain.length > INT_MAX ||
      out.length - offset < plain.length + TAG_BYTES) {
    napi_throw_range_error(env, NULL, "seal: nonce of 12 bytes and room for ciphertext and tag");
    return NULL;
  }
  int written = 0;
  bool sealed = EVP_CipherInit_ex(cipher, NULL, NULL, NULL, nonce.data, 1) == 1 &&
                EVP_CipherUpdate(cipher, NULL, &written, aad.data, (int)aad.length) == 1 &&
                EVP_CipherUpdate(cipher, out.data + offset, &written, plain.data, (int)plain.length) == 1 &&
                EVP_CipherFinal_ex(cipher, out.data + offset + written, &written) == 1 &&
                EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out.data + offset + plain.length) == 1;
  if (!sealed) napi_throw_error(env, NULL, "OpenSSL could not seal");
  return NULL;
}

static napi_value open_datagram(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  EVP_CIPHER_CTX *cipher = six_args(env, info, argv, "open: 6 arguments");
  bytes_t nonce, datagram, out;
  size_t aad_bytes, tag_offset;
  if (cipher == NULL || !buffer_arg(env, argv[1], &nonce, "nonce: a Buffer") ||
      !buffer_arg(env, argv[2], &datagram, "datagram: a Buffer") ||
      !length_arg(env, argv[3], datagram.length, &aad_bytes, "aadBytes") ||
      !length_arg(env, argv[4], datagram.length, &tag_offset, "tagOffset") ||
      !buffer_arg(env, argv[5], &out, "out: a Buffer"))
    return NULL;
  if (nonce.length != NONCE_BYTES || tag_offset < aad_bytes || datagram.length - tag_offset != TAG_BYTES ||
      out.length != tag_offset - aad_bytes || datagram.length > INT_MAX) {
    napi_throw_range_error(env, NULL, "open: nonce of 12 bytes, aad ≤ tag offset, a 16-byte tag, out of the ciphertext's length");
    return NULL;
  }
  int written = 0;
  bool opened =
      EVP_CipherInit_ex(cipher, NULL, NULL, NULL, nonce.data, 0) == 1 &&
      EVP_CipherUpdate(cipher, NULL, &written, datagram.data, (int)aad_bytes) == 1 &&
      EVP_CipherUpdate(cipher, out.data, &written, datagram.data + aad_bytes, (int)(tag_offset - aad_bytes)) == 1 &&
      EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, datagram.data + tag_offset) == 1 &&
      EVP_CipherFinal_ex(cipher, out.data + written, &written) == 1;
  napi_value result;
  NAPI_OK(napi_get_boolean(env, opened, &result));
  return result;
}

const napi_property_descriptor AEAD_METHODS[] = {
    NAPI_METHOD("context", context),
    NAPI_METHOD("seal", seal),
    NAPI_METHOD("open", open_datagram),
};
const size_t AEAD_METHODS_COUNT = sizeof AEAD_METHODS / sizeof AEAD_METHODS[0];
