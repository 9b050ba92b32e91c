import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where scripts/build-native.mjs puts the addon, seen from this module in src/base/ and from a dist/ chunk. */
const ADDON_LOCATIONS = ['../../dist/native/corolink_native.node', './native/corolink_native.node'];

let loaded: object | Error | undefined;

/**
 * The optional native addon (native/: AES-256-GCM with a context per key, the link sockets' batched I/O), loaded
 * once, or an Error saying why it is unavailable (not built, or built for another platform). Never throws: every
 * caller has a Node fallback.
 */
export function nativeAddon(): object | Error {
  if (loaded !== undefined) return loaded;
  const path = ADDON_LOCATIONS.map((relative) => fileURLToPath(new URL(relative, import.meta.url))).find(existsSync);
  try {
    if (path === undefined) throw new Error('dist/native/corolink_native.node is not built (scripts/build-native.mjs)');
    loaded = createRequire(import.meta.url)(path) as object;
  } catch (error) {
    loaded = new Error((error as Error).message.split('\n')[0]);
  }
  return loaded;
}
