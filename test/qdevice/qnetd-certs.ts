// Test certificates made the way `pvecm qdevice setup` makes them, with the real tools: qnetd's NSS database and CA
// from `corosync-qnetd-certutil -i`, a cluster certificate request (CN = cluster name) signed by
// `corosync-qnetd-certutil -s`, exported to the PEM files the client reads. corosync-qnetd-certutil only knows
// /etc/corosync/qnetd, so it runs in a private mount namespace with a test directory bound there: the host's own
// qnetd database is never touched.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const QNETD_CONFIG_DIR = '/etc/corosync/qnetd';
const CA_NICKNAME = 'QNet CA';

/** Why the certificates cannot be made here (certutil, openssl or unshare missing), or null. */
export function qnetdCertsSkipReason(): string | null {
  for (const [tool, pkg] of [
    ['certutil', 'libnss3-tools'],
    ['openssl', 'openssl'],
    ['unshare', 'util-linux'],
  ] as const) {
    if (spawnSync(tool, ['--help']).error) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  return null;
}

export interface QnetdTestCerts {
  /** For qnetd: `-S nss_db_dir=<nssDb>`. */
  nssDb: string;
  /** For the client of each cluster (QdeviceNetOptions.tlsFiles). */
  files: Record<string, { ca: string; cert: string; key: string }>;
}

/** Runs corosync-qnetd-certutil with `configDir` bound over /etc/corosync/qnetd. */
async function qnetdCertutil(configDir: string, ...args: string[]): Promise<void> {
  await run('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount --bind "$0" ${QNETD_CONFIG_DIR} && exec corosync-qnetd-certutil "$@"`,
    configDir,
    ...args,
  ]);
}

/** A qnetd CA and server certificate in `dir`, and a client certificate for each cluster name, signed by it. */
export async function makeQnetdTestCerts(dir: string, clusterNames: readonly string[]): Promise<QnetdTestCerts> {
  const configDir = join(dir, 'qnetd');
  mkdirSync(configDir, { recursive: true });
  await qnetdCertutil(configDir, '-i');
  const nssDb = join(configDir, 'nssdb');
  const ca = join(dir, 'qnetd-cacert.pem');
  writeFileSync(ca, (await run('certutil', ['-L', '-d', nssDb, '-n', CA_NICKNAME, '-a'])).stdout);
  const files: QnetdTestCerts['files'] = {};
  for (const clusterName of clusterNames) {
    const key = join(dir, `${clusterName}-key.pem`);
    const request = join(dir, `${clusterName}-request.der`);
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${clusterName}`,
      '-keyout',
      key,
      '-outform',
      'DER',
      '-out',
      request,
    ]);
    await qnetdCertutil(configDir, '-s', '-c', request, '-n', clusterName);
    const cert = join(dir, `${clusterName}-cert.pem`);
    await run('openssl', ['x509', '-inform', 'DER', '-in', join(nssDb, `cluster-${clusterName}.crt`), '-out', cert]);
    files[clusterName] = { ca, cert, key };
  }
  return { nssDb, files };
}
