import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { optionalModule } from './lazy-module.ts';

/** Where scripts/build-native.mjs puts the addon, seen from this module in src/base/ and from a dist/ chunk. */
const ADDON_LOCATIONS = ['../../dist/native/corolink_native.node', './native/corolink_native.node'];

/**
 * The optional native addon (native/: AES-256-GCM with a context per key, the link sockets' batched I/O), loaded
 * once, or an Error saying why it is unavailable (not built, or built for another platform). Never throws: every
 * caller has a Node fallback.
 */
export const nativeAddon: () => object | Error = optionalModule(
  () => {
    const path = ADDON_LOCATIONS.map((relative) => fileURLToPath(new URL(relative, import.meta.url))).find(existsSync);
    if (path === undefined) throw new Error('dist/native/corolink_native.node is not built (scripts/build-native.mjs)');
    return path;
  },
  (cause) => cause,
);
