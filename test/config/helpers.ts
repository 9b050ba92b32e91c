/** Shared helpers for the config tests. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkConfigText, type Diagnostic } from '../../src/config/index.ts';

/** The corpus beside the clone: `../shared/corpus/corosync-conf` from the repository root. */
export const CORPUS_DIR = fileURLToPath(new URL('../../../shared/corpus/corosync-conf', import.meta.url));

/** The CLI entry point, independent of the working directory. */
export const CLI_ENTRY = fileURLToPath(new URL('../../bin/corolink.mjs', import.meta.url));

/** Why corpus tests skip, or false when the corpus is present. */
export const corpusSkipReason: string | false = existsSync(CORPUS_DIR)
  ? false
  : `corpus not found at ${CORPUS_DIR} (expected beside the clone)`;

/** A minimal valid two-link, three-node config using the test address ranges. */
export const VALID_CONFIG = `totem {
  version: 2
  cluster_name: test
  config_version: 1
  secauth: on
  link_mode: passive
  interface {
    linknumber: 0
  }
  interface {
    linknumber: 1
  }
}

nodelist {
  node {
    name: a
    nodeid: 1
    ring0_addr: 198.18.10.1
    ring1_addr: 198.18.20.1
  }
  node {
    name: b
    nodeid: 2
    ring0_addr: 198.18.10.2
    ring1_addr: 198.18.20.2
  }
  node {
    name: c
    nodeid: 3
    ring0_addr: 198.18.10.3
    ring1_addr: 198.18.20.3
  }
}

quorum {
  provider: corosync_votequorum
}
`;

/** Checks text and returns its diagnostics. */
export function diagnosticsOf(text: string, fileName = 'test.conf'): Diagnostic[] {
  return checkConfigText(text, fileName).diagnostics;
}

/** Replaces the first occurrence of `from` in the valid config, failing loudly if it is not there. */
export function mutate(from: string, to: string, base = VALID_CONFIG): string {
  if (!base.includes(from)) throw new Error(`test setup: '${from}' not in base config`);
  return base.replace(from, to);
}
