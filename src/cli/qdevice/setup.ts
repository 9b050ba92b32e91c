/**
 * `corolink qdevice setup <qnetd-address>` and `qdevice remove`: pvecm's flow. Setup gets qnetd's CA and a
 * cluster certificate signed by it (certs.ts), installs them on every node, adds the device to corosync.conf
 * through the checked live-change flow (config_version bumped, applied by every node) and waits until the
 * cluster counts the device's vote. Over a remote shell (ssh, as pvecm) or, with --no-ssh, in two steps with the
 * copies done by hand in between (the first prints them; `--finish` does the rest).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CorolinkClient } from '../../client/client.ts';
import { checkConfigText, type EffectiveNode, type QdeviceTlsFiles, qdeviceTlsFiles } from '../../config/index.ts';
import { writeFileAtomic } from '../../daemon/atomic-file.ts';
import { PRIVATE_FILE_MODE } from '../../daemon/private-fs.ts';
import type { StatusV1 } from '../../ipc/schema.ts';
import { type ChangeOptions, changeClusterConfig } from '../config-change.ts';
import { withDaemon } from '../daemon-call.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import {
  CA_EXPORT_FILE_NAME,
  caPemOf,
  certPemOf,
  checkBundle,
  checkClusterName,
  ensureQdeviceDirs,
  installBundle,
  installRemote,
  makeClusterRequest,
  QNETD_CA_FILE,
  QNETD_REQUEST_FILE,
  qnetdCa,
  qnetdCertFile,
  REQUEST_FILE_NAME,
  removeLocal,
  removeRemote,
  signOnQnetd,
  type TlsBundle,
  withPrivateTemp,
} from './certs.ts';
import {
  addQuorumDevice,
  type DeviceAlgorithm,
  defaultAlgorithm,
  deviceVotes,
  hasQuorumDevice,
  removeQuorumDevice,
} from './device-config.ts';
import { RemoteShell } from './remote-shell.ts';
import { remoteVoteSource, waitForDeviceVote } from './verify.ts';

/** How long setup waits by default for the cluster to count the device's vote. */
export const VOTE_WAIT_S_DEFAULT = 30;

/** The options of both verbs. */
export interface QdeviceOptions extends ChangeOptions {
  /** This node's corosync.conf: the certificate files go beside it. */
  config: string;
  /** false with --no-ssh. */
  ssh: boolean;
  sshCommand: string;
}

export interface SetupOptions extends QdeviceOptions {
  finish?: boolean;
  algorithm?: string;
  tieBreaker: string;
  /** Seconds to wait for the vote (0: do not wait). */
  wait: string;
}

const info = (text: string) => process.stderr.write(`corolink: qdevice: ${text}\n`);

/** What setup and remove read from the running cluster first. */
interface ClusterFacts {
  clusterName: string;
  nodes: EffectiveNode[];
  status: StatusV1;
  deviceConfigured: boolean;
}

async function clusterFacts(options: QdeviceOptions): Promise<ClusterFacts> {
  const [current, status] = await withDaemon(options, (client) => Promise.all([client.configGet(), client.status()]));
  const checked = checkConfigText(current.text, 'corosync.conf');
  let clusterName: string;
  try {
    clusterName = checkClusterName(checked.effective.totem.clusterName);
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.invalid);
  }
  // pvecm: "All nodes must be online!" — every node gets the files, and every node must apply the config.
  const offline = status.nodes.filter((n) => !n.member).map((n) => n.name);
  if (offline.length > 0 && !options.dryRun) {
    throw new CliError(`every node must be online: ${offline.join(', ')} is not a member`, ExitCode.notQuorate);
  }
  return {
    clusterName,
    nodes: checked.effective.nodes,
    status,
    deviceConfigured: hasQuorumDevice(checked.tree),
  };
}

/** The address a remote shell reaches node `node` at: its lowest link's address (pvecm: the node's ring0 IP). */
function nodeAddress(node: EffectiveNode): string {
  const links = Object.keys(node.addresses)
    .map(Number)
    .sort((a, b) => a - b);
  const address = links.length > 0 ? node.addresses[links[0]!] : undefined;
  if (address === undefined) throw new CliError(`node ${node.name ?? node.nodeId} has no address`, ExitCode.invalid);
  return address;
}

/** A node's name as status shows it (its nodeid when it has none). */
function nodeName(facts: ClusterFacts, nodeid: number | null): string {
  return facts.status.nodes.find((n) => n.nodeid === nodeid)?.name ?? `nodeid ${nodeid}`;
}

const otherNodes = (facts: ClusterFacts) => facts.nodes.filter((n) => n.nodeId !== facts.status.local_nodeid);

function parseAlgorithm(text: string | undefined, nodeCount: number): DeviceAlgorithm {
  if (text === undefined) {
    const chosen = defaultAlgorithm(nodeCount);
    if (chosen) return chosen;
    throw new CliError(
      `ffsplit needs an even node count and this cluster has ${nodeCount}: use --algorithm lms (pvecm: --force)`,
      ExitCode.usage,
    );
  }
  if (text !== 'ffsplit' && text !== 'lms') throw new CliError(`--algorithm must be ffsplit or lms, got '${text}'`);
  return text;
}

function parseTieBreaker(text: string, nodes: EffectiveNode[]): string {
  if (text === 'lowest' || text === 'highest') return text;
  if (/^\d+$/.test(text) && nodes.some((n) => n.nodeId === Number(text))) return text;
  throw new CliError(`--tie-breaker must be lowest, highest or a node id of the nodelist, got '${text}'`);
}

function parseWait(text: string): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 600) {
    throw new CliError(`--wait must be 0–600 seconds, got '${text}'`);
  }
  return seconds;
}

/** `CliError` for a failed step, naming it. */
async function step<T>(what: string, action: () => Promise<T> | T): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${what}: ${(error as Error).message}`, ExitCode.invalid);
  }
}

/** The certificate exchange over the remote shell: qnetd's CA, a request made here, signed on the qnetd host. */
async function exchangeOverShell(shell: RemoteShell, address: string, clusterName: string): Promise<TlsBundle> {
  info(`initializing qnetd server ${address} (corosync-qnetd-certutil -i, unless it has its CA)`);
  const ca = await step('getting the qnetd CA', () =>
    qnetdCa(shell, address).catch((error: Error) => {
      // ssh's own failure (no route, no key for root) is exit status 255.
      const hint = / exit status 255/.test(error.message)
        ? ' (no ssh to it as root? --no-ssh prints the copy steps)'
        : '';
      throw new Error(`${error.message}${hint}`);
    }),
  );
  info(`generating the cluster certificate request (CN=${clusterName})`);
  return withPrivateTemp(async (dir) => {
    const { key, request } = await step('making the request', () => makeClusterRequest(clusterName, dir));
    info(`signing it on ${address} (corosync-qnetd-certutil -s -n ${clusterName})`);
    const cert = await step('signing on the qnetd host', () => signOnQnetd(shell, address, request, clusterName));
    return { ca, cert, key };
  });
}

/** --no-ssh, first step: the key and request here, and the copy steps to do by hand. */
async function stageRequest(files: QdeviceTlsFiles, address: string, facts: ClusterFacts): Promise<void> {
  ensureQdeviceDirs(files);
  const { key, request } = await withPrivateTemp((dir) => makeClusterRequest(facts.clusterName, dir));
  writeFileAtomic(files.key, key, PRIVATE_FILE_MODE);
  writeFileAtomic(join(files.dir, REQUEST_FILE_NAME), request, PRIVATE_FILE_MODE);
  const name = facts.clusterName;
  process.stdout.write(
    [
      `The key and certificate request for cluster ${name} are in ${files.dir}. Now, by hand:`,
      `  1. on ${address}: corosync-qnetd-certutil -i   (once per qnetd host; Debian's package has done it)`,
      `  2. copy ${address}:${QNETD_CA_FILE} to ${join(files.dir, CA_EXPORT_FILE_NAME)}`,
      `  3. copy ${join(files.dir, REQUEST_FILE_NAME)} to ${address}:${QNETD_REQUEST_FILE}`,
      `  4. on ${address}: corosync-qnetd-certutil -s -c ${QNETD_REQUEST_FILE} -n ${name}`,
      `  5. copy ${address}:${qnetdCertFile(name)} to ${files.dir}/`,
      `  6. here: corolink qdevice setup ${address} --no-ssh --finish`,
      '',
    ].join('\n'),
  );
}

/** --no-ssh, second step: the files copied in, checked and stored as PEM; the staged ones removed. */
function finishStaged(files: QdeviceTlsFiles, clusterName: string): TlsBundle {
  const caFile = join(files.dir, CA_EXPORT_FILE_NAME);
  const certFile = join(files.dir, `cluster-${clusterName}.crt`);
  for (const file of [caFile, certFile, files.key]) {
    if (!existsSync(file)) {
      throw new CliError(`${file} is missing: do the steps \`corolink qdevice setup <address> --no-ssh\` printed`);
    }
  }
  return {
    ca: caPemOf(readFileSync(caFile, 'utf8'), caFile),
    cert: certPemOf(readFileSync(certFile), certFile),
    key: readFileSync(files.key, 'utf8'),
  };
}

function removeStaged(files: QdeviceTlsFiles, clusterName: string): void {
  for (const name of [CA_EXPORT_FILE_NAME, `cluster-${clusterName}.crt`, REQUEST_FILE_NAME]) {
    rmSync(join(files.dir, name), { force: true });
  }
}

/** `corolink qdevice setup <address>`. */
export async function qdeviceSetup(address: string, options: SetupOptions): Promise<void> {
  const facts = await clusterFacts(options);
  if (facts.deviceConfigured) {
    throw new CliError('a quorum device is configured already: `corolink qdevice remove` it first', ExitCode.invalid);
  }
  const algorithm = parseAlgorithm(options.algorithm, facts.nodes.length);
  const tieBreaker = parseTieBreaker(options.tieBreaker, facts.nodes);
  const waitS = parseWait(options.wait);
  const files = qdeviceTlsFiles(options.config);
  const shell = options.ssh ? new RemoteShell(options.sshCommand) : undefined;
  const edit = {
    edit: (tree: Parameters<typeof addQuorumDevice>[0]) =>
      addQuorumDevice(tree, { host: address, algorithm, tieBreaker }),
  };
  const verify = async (client: CorolinkClient) => {
    const local = { name: nodeName(facts, facts.status.local_nodeid), status: () => client.status() };
    const others = shell
      ? otherNodes(facts).map((n) => remoteVoteSource(shell, nodeAddress(n), nodeName(facts, n.nodeId)))
      : [];
    const vote = await waitForDeviceVote([local, ...others], deviceVotes(algorithm, facts.nodes.length), waitS * 1000);
    if (vote.counted === false) process.exitCode = ExitCode.unavailable;
    return vote.text;
  };
  if (options.dryRun) return changeClusterConfig(options, edit);
  if (!shell && !options.finish) return stageRequest(files, address, facts);

  const bundle = shell
    ? await exchangeOverShell(shell, address, facts.clusterName)
    : await step('reading the copied files', () => finishStaged(files, facts.clusterName));
  await step('checking the certificates', () => checkBundle(bundle, facts.clusterName));
  await step(`installing in ${files.dir}`, () => installBundle(files, bundle));
  if (!shell) removeStaged(files, facts.clusterName);
  info(`installed ${files.ca}, ${files.cert}, ${files.key} (0600)`);
  for (const node of otherNodes(facts)) {
    const host = nodeAddress(node);
    if (shell) {
      info(`installing them on ${nodeName(facts, node.nodeId)} (${host})`);
      await step(`installing on ${host}`, () => installRemote(shell, host, files, bundle));
    } else {
      info(
        `copy them to ${nodeName(facts, node.nodeId)} before applying: scp -p ${files.ca} ${files.cert} ${files.key} root@${host}:${files.dir}/ (folder 0700)`,
      );
    }
  }
  info('adding the device to the cluster configuration');
  await changeClusterConfig(options, edit, verify);
}

/** `corolink qdevice remove`. */
export async function qdeviceRemove(options: QdeviceOptions): Promise<void> {
  const facts = await clusterFacts(options);
  if (!facts.deviceConfigured) throw new CliError('no quorum device is configured', ExitCode.invalid);
  const files = qdeviceTlsFiles(options.config);
  await changeClusterConfig(options, { edit: removeQuorumDevice }, async () => {
    // The config first, so that no client still uses the files when they go.
    removeLocal(files);
    const lines = [`removed ${files.dir}\n`];
    const shell = options.ssh ? new RemoteShell(options.sshCommand) : undefined;
    for (const node of otherNodes(facts)) {
      const host = nodeAddress(node);
      if (shell) {
        await step(`removing the files on ${host}`, () => removeRemote(shell, host, files));
        lines.push(`removed ${host}:${files.dir}\n`);
      } else lines.push(`remove ${files.dir} on ${nodeName(facts, node.nodeId)} (${host}) by hand\n`);
    }
    return lines.join('');
  });
}
