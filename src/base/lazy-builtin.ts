import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);

/**
 * A Node built-in module that loads when first used instead of when its importer loads: for the built-ins the
 * daemon needs only in some configurations (TLS for a QDevice, zlib's CRC-32 for unencrypted links, DNS for a host
 * name, a worker thread for the store's checkpoints). Each one loaded costs every daemon resident memory whether it
 * is used or not: these four together ≈ 1.3 MiB in a process that already has node:crypto, node:net and node:dgram
 * (docs/daemon.md "Memory"). Types come from `typeof import(…)`, which loads nothing.
 */
export function lazyBuiltin<T>(specifier: `node:${string}`): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= requireBuiltin(specifier) as T;
    return loaded;
  };
}
