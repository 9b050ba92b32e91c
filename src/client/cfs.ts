/**
 * The replicated file store through the admin socket (docs/cfs.md): typed wrappers of `cfsLs`, `cfsGet`,
 * `cfsPut` and `cfsRm`, used by `CorolinkClient`'s methods of the same names.
 */
import { bytesOf } from '../ipc/methods.ts';

/** One file's metadata: `version` is the cluster-wide number of the write that set it, `mtime` ms since epoch. */
export interface CfsFileInfo {
  path: string;
  size: number;
  version: number;
  mtime: number;
}

/** One file with its content. */
export interface CfsFile {
  path: string;
  data: Uint8Array;
  version: number;
  mtime: number;
}

/** The result of a committed write. */
export interface CfsWriteResult {
  path: string;
  version: number;
}

type Call = (method: string, params: Record<string, unknown>) => Promise<unknown>;

export async function cfsLs(call: Call, prefix?: string): Promise<CfsFileInfo[]> {
  const result = (await call('cfsLs', prefix === undefined ? {} : { prefix })) as { entries: CfsFileInfo[] };
  return result.entries;
}

export async function cfsGet(call: Call, path: string): Promise<CfsFile> {
  const result = (await call('cfsGet', { path })) as Omit<CfsFile, 'data'> & { data: Uint8Array | string };
  return { ...result, data: new Uint8Array(bytesOf(result.data)) };
}

/** Writes `data` (a string as UTF-8); its bytes go raw in the binary framing, base64 in JSON lines. */
export async function cfsPut(call: Call, path: string, data: Uint8Array | string): Promise<CfsWriteResult> {
  // A copy: the caller may reuse its buffer before the socket took the bytes.
  return (await call('cfsPut', { path, data: Buffer.from(data) })) as CfsWriteResult;
}

export async function cfsRm(call: Call, path: string): Promise<CfsWriteResult> {
  return (await call('cfsRm', { path })) as CfsWriteResult;
}
