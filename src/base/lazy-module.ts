import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * A Node built-in module that loads when first used instead of when its importer loads: for the built-ins the
 * daemon needs only in some configurations (TLS for a QDevice, zlib's CRC-32 for unencrypted links, DNS for a host
 * name, a worker thread for the store's checkpoints). Each one loaded costs every daemon resident memory whether it
 * is used or not: these four together ≈ 1.3 MiB in a bare process that already has node:crypto, node:net and
 * node:dgram, 0.3 MiB of the node binary's pages in a daemon (docs/daemon.md "Memory"). Types come from
 * `typeof import(…)`, which loads nothing.
 */
export function lazyBuiltin<T>(specifier: `node:${string}`): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= requireHere(specifier) as T;
    return loaded;
  };
}

/**
 * An optional module (an npm addon, or the native addon by its path; `specifier` may throw to say it is not there),
 * loaded at its first use, once: the module, or the Error that says why it is unavailable, worded by `why` from the
 * first line of the load's error. Never throws: every caller has a fallback or reports the Error.
 */
export function optionalModule<T>(specifier: () => string, why: (cause: string) => string): () => T | Error {
  let loaded: T | Error | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    try {
      loaded = requireHere(specifier()) as T;
    } catch (error) {
      loaded = new Error(why((error as Error).message.split('\n')[0] ?? ''));
    }
    return loaded;
  };
}
