/**
 * The certificates of `corolink qdevice setup`, the same exchange as `pvecm qdevice setup` and
 * `corosync-qdevice-net-certutil -Q`: corosync-qnetd's CA (made on its host by `corosync-qnetd-certutil -i`, as
 * Debian's package does at install), a client certificate request with CN = the cluster name, signed on the qnetd
 * host by `corosync-qnetd-certutil -s -c REQ -n CLUSTER`. qnetd accepts a client whose certificate chains to that
 * CA and whose name matches the cluster name it announced (CERT_VerifyCertName in qnetd-client-msg-received.c).
 *
 * corosync-qdevice keeps these in an NSS database; corolink's client reads PEM (config/paths.ts qdeviceTlsFiles),
 * so the request and key are made with openssl (the same RSA key and CN that certutil -R makes) and the signed DER
 * certificate and the CA are stored as PEM. Nothing else of the NSS database is needed on the nodes.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { QdeviceTlsFiles } from '../../config/index.ts';
import { writeFileAtomic } from '../../daemon/atomic-file.ts';
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../daemon/private-fs.ts';
import { type RemoteShell, shellQuote } from './remote-shell.ts';

const execFileAsync = promisify(execFile);

/** corosync-qnetd-certutil's files on the qnetd host (its own fixed paths, as pvecm uses them). */
export const QNETD_DB_DIR = '/etc/corosync/qnetd/nssdb';
export const QNETD_CA_FILE = `${QNETD_DB_DIR}/qnetd-cacert.crt`;
/** Where the request is put on the qnetd host to be signed (pvecm's place). */
export const QNETD_REQUEST_FILE = '/tmp/qdevice-net-node.crq';
/** The signed certificate corosync-qnetd-certutil -s leaves on the qnetd host. */
export const qnetdCertFile = (clusterName: string) => `${QNETD_DB_DIR}/cluster-${clusterName}.crt`;
/** The request's file name on this node (--no-ssh: the user copies it to the qnetd host). */
export const REQUEST_FILE_NAME = 'qdevice-net-node.crq';
/** The CA as exported on the qnetd host, once copied here (--no-ssh). */
export const CA_EXPORT_FILE_NAME = 'qnetd-cacert.crt';

/** Key size of the client key: corosync-qdevice-net-certutil's (certutil -R's default RSA 2048). */
const CLIENT_KEY_BITS = 2048;
/** Time limit of one openssl call. */
const OPENSSL_TIMEOUT_MS = 30_000;

/** The three PEM texts a node needs. */
export interface TlsBundle {
  ca: string;
  cert: string;
  key: string;
}

/** A cluster name usable as the certificate's CN and in qnetd's file name (`cluster-NAME.crt`), or an error. */
export function checkClusterName(name: string | null): string {
  if (name === null) throw new Error('totem.cluster_name is not set: qnetd tells clusters apart by it');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new Error(
      `totem.cluster_name '${name}' cannot name a qdevice certificate: use letters, digits, '.', '_' and '-' (at most 64)`,
    );
  }
  return name;
}

/** The one PEM certificate in corosync-qnetd-certutil's CA export (a text dump followed by the PEM). */
export function caPemOf(exported: string, where: string): string {
  const blocks = exported.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length !== 1) throw new Error(`${where}: expected one PEM certificate, found ${blocks.length}`);
  const ca = new X509Certificate(blocks[0]!);
  if (!ca.ca) throw new Error(`${where}: ${ca.subject.replaceAll('\n', ', ')} is not a CA certificate`);
  return `${blocks[0]}\n`;
}

/** A certificate file's PEM: DER (what corosync-qnetd-certutil -s writes) or PEM. */
export function certPemOf(data: Buffer, where: string): string {
  try {
    return new X509Certificate(data).toString();
  } catch (error) {
    throw new Error(`${where}: not a certificate (${(error as Error).message})`);
  }
}

/** Makes sure `bundle` is what qnetd accepts for `clusterName`: CN, signed by the CA, key matching. */
export function checkBundle(bundle: TlsBundle, clusterName: string): void {
  const ca = new X509Certificate(bundle.ca);
  const cert = new X509Certificate(bundle.cert);
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn !== clusterName) throw new Error(`the client certificate is for CN=${cn}, not for the cluster ${clusterName}`);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new Error(`the client certificate is not signed by qnetd's CA (${ca.subject.replaceAll('\n', ', ')})`);
  }
  if (!cert.checkPrivateKey(createPrivateKey(bundle.key))) {
    throw new Error('the client certificate does not belong to the key made for it');
  }
}

/** Makes a new client key and a certificate request (DER) with CN = `clusterName`, in `dir` (0700). */
export async function makeClusterRequest(clusterName: string, dir: string): Promise<{ key: string; request: Buffer }> {
  const keyFile = join(dir, 'key.pem');
  const requestFile = join(dir, 'request.der');
  // openssl writes the key with the umask's mode: the private folder keeps it from other users meanwhile.
  await execFileAsync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      `rsa:${CLIENT_KEY_BITS}`,
      '-nodes',
      '-subj',
      `/CN=${clusterName}`,
      '-keyout',
      keyFile,
      '-outform',
      'DER',
      '-out',
      requestFile,
    ],
    { timeout: OPENSSL_TIMEOUT_MS },
  ).catch((error: Error & { stderr?: string }) => {
    throw new Error(`openssl req: ${error.stderr?.trim() || error.message} (is openssl installed?)`);
  });
  return { key: readFileSync(keyFile, 'utf8'), request: readFileSync(requestFile) };
}

/** Runs `make` with a fresh private temporary folder, removed afterwards. */
export async function withPrivateTemp<T>(make: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'corolink-qdevice-'));
  try {
    return await make(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** On the qnetd host: its CA, made first if the host has none yet (corosync-qnetd-certutil -i). */
export async function qnetdCa(shell: RemoteShell, host: string): Promise<string> {
  const script = `[ -e ${QNETD_CA_FILE} ] || corosync-qnetd-certutil -i >&2; cat ${QNETD_CA_FILE}`;
  return caPemOf((await shell.run(host, script)).toString(), `${host}:${QNETD_CA_FILE}`);
}

/** On the qnetd host: signs `request` for `clusterName` (corosync-qnetd-certutil -s); the certificate as PEM. */
export async function signOnQnetd(
  shell: RemoteShell,
  host: string,
  request: Uint8Array,
  clusterName: string,
): Promise<string> {
  const crt = qnetdCertFile(clusterName);
  const script =
    `umask 077 && cat > ${QNETD_REQUEST_FILE} && ` +
    `corosync-qnetd-certutil -s -c ${QNETD_REQUEST_FILE} -n ${shellQuote(clusterName)} >&2 && ` +
    `rm -f ${QNETD_REQUEST_FILE} && cat ${shellQuote(crt)}`;
  return certPemOf(await shell.run(host, script, request), `${host}:${crt}`);
}

/** Makes the qdevice folders on this node (0700, refused when another user owns them or they are symlinks). */
export function ensureQdeviceDirs(files: QdeviceTlsFiles): void {
  ensurePrivateDir(dirname(files.dir), 'qdevice folder');
  ensurePrivateDir(files.dir, 'qdevice-net folder');
}

/** Writes the bundle on this node: folder 0700, files 0600, each replaced atomically. */
export function installBundle(files: QdeviceTlsFiles, bundle: TlsBundle): void {
  ensureQdeviceDirs(files);
  writeFileAtomic(files.ca, bundle.ca, PRIVATE_FILE_MODE);
  writeFileAtomic(files.cert, bundle.cert, PRIVATE_FILE_MODE);
  writeFileAtomic(files.key, bundle.key, PRIVATE_FILE_MODE);
}

/** Writes the bundle on another node through the remote shell, with the same modes. */
export async function installRemote(
  shell: RemoteShell,
  host: string,
  files: QdeviceTlsFiles,
  bundle: TlsBundle,
): Promise<void> {
  const mode = (m: number) => m.toString(8);
  const dirs = `${shellQuote(dirname(files.dir))} ${shellQuote(files.dir)}`;
  for (const [path, text] of [
    [files.ca, bundle.ca],
    [files.cert, bundle.cert],
    [files.key, bundle.key],
  ] as const) {
    const temporary = shellQuote(`${path}.tmp`);
    await shell.run(
      host,
      `umask 077 && mkdir -p ${dirs} && chmod ${mode(PRIVATE_DIR_MODE)} ${dirs} && cat > ${temporary} && ` +
        `chmod ${mode(PRIVATE_FILE_MODE)} ${temporary} && mv -f ${temporary} ${shellQuote(path)}`,
      Buffer.from(text),
    );
  }
}

/** Removes the qdevice-net files on this node, and their parent folder when nothing else is in it. */
export function removeLocal(files: QdeviceTlsFiles): void {
  rmSync(files.dir, { recursive: true, force: true });
  const parent = dirname(files.dir);
  if (existsSync(parent) && readdirSync(parent).length === 0) rmdirSync(parent);
}

/** The same on another node (pvecm: rm -rf /etc/corosync/qdevice). */
export async function removeRemote(shell: RemoteShell, host: string, files: QdeviceTlsFiles): Promise<void> {
  await shell.run(
    host,
    `rm -rf ${shellQuote(files.dir)} && { rmdir ${shellQuote(dirname(files.dir))} 2>/dev/null || true; }`,
  );
}
