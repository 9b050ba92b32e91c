/**
 * Admin-socket methods of the replicated file store (docs/cfs.md): `cfsLs {prefix?}`, `cfsGet {path}`,
 * `cfsPut {path, data}` (base64) and `cfsRm {path}`. Reads answer from the local copy; writes answer once
 * committed locally after ordering, with the write's cluster-wide version.
 */
import type { CfsErrorCode } from '../cfs/core.ts';
import { pathProblem } from '../cfs/limits.ts';
import { AdminError, type ErrorCode, type Handler } from './admin-socket.ts';
import type { CfsService, CfsWrite } from './cfs-service.ts';
import { CLUSTER_CONFIG_PATH } from './cluster-config.ts';

const ERROR_CODES: Record<CfsErrorCode, ErrorCode> = {
  invalid: 'bad_request',
  not_quorate: 'not_quorate',
  syncing: 'refused',
  not_found: 'not_found',
  too_big: 'refused',
  unknown: 'refused',
};

function pathParam(params: Record<string, unknown>): string {
  const problem = pathProblem(params.path);
  if (problem) throw new AdminError('bad_request', problem);
  return params.path as string;
}

/** A path a plain write may change: the cluster config changes only through a checked plan. */
function writablePath(params: Record<string, unknown>): string {
  const path = pathParam(params);
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

export function cfsHandlers(cfs: CfsService): Record<string, Handler> {
  return {
    cfsLs: (params) => {
      const prefix = params.prefix ?? '';
      if (typeof prefix !== 'string') throw new AdminError('bad_request', 'prefix must be a string');
      return { entries: cfs.list(prefix) };
    },
    cfsGet: (params) => {
      const path = pathParam(params);
      const entry = cfs.get(path);
      if (!entry) throw new AdminError('not_found', `no such file: ${path}`);
      return { ...entry, data: Buffer.from(entry.data).toString('base64') };
    },
    cfsPut: (params) => {
      const path = writablePath(params);
      if (typeof params.data !== 'string') throw new AdminError('bad_request', 'data must be a base64 string');
      return write(cfs, { type: 'put', path, data: Buffer.from(params.data, 'base64') });
    },
    cfsRm: (params) => write(cfs, { type: 'rm', path: writablePath(params) }),
  };
}
