/*
 * What the addon's C files share: N-API argument checks that throw a JavaScript error naming the argument.
 */
#ifndef COROLINK_NAPI_ARGS_H
#define COROLINK_NAPI_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#define NAPI_OK(call)                                                                                                  \
  do {                                                                                                                 \
    if ((call) != napi_ok) return NULL;                                                                                \
  } while (0)

typedef struct {
  unsigned char *data;
  size_t length;
} bytes_t;

static inline bool buffer_arg(napi_env env, napi_value value, bytes_t *out, const char *name) {
  bool is_buffer = false;
  void *data = NULL;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, value, &data, &out->length) != napi_ok) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  out->data = data;
  return true;
}

/* The pointer an External made by this addon holds; NULL (a TypeError pending, saying `name`) for anything else. */
static inline void *external_arg(napi_env env, napi_value value, const char *name) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, name);
    return NULL;
  }
  return data;
}

/* The arguments of a call, exactly `count` of them; false (an exception pending) otherwise. */
static inline bool exact_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv,
                              const char *count_error) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != count) {
    napi_throw_type_error(env, NULL, count_error);
    return false;
  }
  return true;
}

static inline bool length_arg(napi_env env, napi_value value, size_t limit, size_t *out, const char *name) {
  int64_t number = -1;
  if (napi_get_value_int64(env, value, &number) != napi_ok || number < 0 || (uint64_t)number > limit) {
    napi_throw_range_error(env, NULL, name);
    return false;
  }
  *out = (size_t)number;
  return true;
}

/* One function of the addon's exports (napi_define_properties). */
#define NAPI_METHOD(name, function) {name, NULL, function, NULL, NULL, NULL, napi_default, NULL}

/* The functions each C file puts on the addon's exports. */
extern const napi_property_descriptor AEAD_METHODS[];
extern const size_t AEAD_METHODS_COUNT;
extern const napi_property_descriptor UDP_METHODS[];
extern const size_t UDP_METHODS_COUNT;

#endif
