/**
 * Admin-socket methods of the replicated file store (docs/cfs.md): `cfsLs {prefix?}`, `cfsGet {path}`,
 * `cfsPut {path, data}` and `cfsRm {path}`; file contents go raw in the binary framing, base64 in JSON lines.
 * Reads answer from the local copy (a listing a page per turn of the loop: ../cfs-listings.ts); writes answer once
 * committed locally after ordering, with the write's cluster-wide version.
 */
import type { CfsErrorCode } from '../../cfs/core.ts';
import { bytesOf, type ErrorCode } from '../../ipc/methods.ts';
import { AdminError, type Handlers } from '../admin-socket.ts';
import type { CfsService, CfsWrite } from '../cfs-service.ts';
import { CLUSTER_CONFIG_PATH } from '../cluster-config.ts';

const ERROR_CODES: Record<CfsErrorCode, ErrorCode> = {
  invalid: 'bad_request',
  not_quorate: 'not_quorate',
  syncing: 'refused',
  not_found: 'not_found',
  too_big: 'refused',
  unknown: 'refused',
  storage: 'refused',
};

/** Reads answer from the local copy, unless it is stale after a storage failure (it would miss writes). */
function readable(cfs: CfsService): CfsService {
  const refusal = cfs.readRefusal();
  if (refusal !== undefined) throw new AdminError('refused', refusal);
  return cfs;
}

/** A path a plain write may change: the cluster config changes only through a checked plan. */
function writable(path: string): string {
  if (path === CLUSTER_CONFIG_PATH) {
    throw new AdminError(
      'refused',
      `${path} is the cluster config: change it with corolink config apply (or link/add/delnode)`,
    );
  }
  return path;
}

async function write(cfs: CfsService, request: CfsWrite) {
  const result = await cfs.write(request);
  if (!result.ok) throw new AdminError(ERROR_CODES[result.code], result.message);
  return { path: request.path, version: result.version };
}

export function cfsHandlers(cfs: CfsService): Pick<Handlers, 'cfsLs' | 'cfsGet' | 'cfsPut' | 'cfsRm'> {
  return {
    cfsLs: ({ prefix = '' }, connection) => cfs.listings.list(prefix, () => connection.closed),
    cfsGet: ({ path }) => {
      const entry = readable(cfs).get(path);
      if (!entry) throw new AdminError('not_found', `no such file: ${path}`);
      return entry;
    },
    cfsPut: ({ path, data }) => write(cfs, { type: 'put', path: writable(path), data: bytesOf(data) }),
    cfsRm: ({ path }) => write(cfs, { type: 'rm', path: writable(path) }),
  };
}
