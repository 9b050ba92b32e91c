/**
 * `ip` resources: a floating address. Start adds it (`ip addr replace`, so a repeated start succeeds) and announces
 * it — a gratuitous ARP (`arping -U`) for IPv4, an unsolicited neighbour advertisement (`ndsend`) for IPv6 — when
 * the tool is installed; stop deletes it (absent already: success); monitor: 0 when present, 7 when not.
 */
import { isIP } from 'node:net';
import { HA_EXIT_NOT_RUNNING, HA_EXIT_OK, type HaOp, type HaOpResult, type HaResourceSpec } from '../../ha/contract.ts';
import { runInGroup } from './process-group.ts';
import { canonicalAddress } from './resource-spec.ts';

type IpSpec = Extract<HaResourceSpec, { type: 'ip' }>;

/** Announces $2 on interface $1 with the tool of its family, when installed ($1, $2: no quoting issue). */
const ANNOUNCE = {
  4: 'if command -v arping >/dev/null; then arping -U -c 1 -I "$1" "$2"; else echo "no arping: not announced"; fi',
  6: 'if command -v ndsend >/dev/null; then ndsend "$2" "$1"; else echo "no ndsend: not announced"; fi',
};

export async function runIp(op: HaOp, spec: IpSpec, netns?: string): Promise<HaOpResult> {
  const ip = (...args: string[]) =>
    runInGroup({ file: 'ip', args: netns ? ['-n', netns, ...args] : args, timeoutMs: spec.timeoutMs });
  const cidr = `${spec.address}/${spec.prefixLength}`;
  switch (op) {
    case 'start': {
      const added = await ip('addr', 'replace', cidr, 'dev', spec.interface);
      if (added.exitCode !== HA_EXIT_OK) return added;
      const shell = ['/bin/sh', '-c', ANNOUNCE[isIP(spec.address) as 4 | 6], 'announce', spec.interface, spec.address];
      const [file, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...shell] : shell;
      // The address is up: a failed announcement is reported, not a failed start.
      const announced = await runInGroup({ file: file!, args, timeoutMs: spec.timeoutMs });
      return { ...added, output: [added.output, announced.output].filter(Boolean).join('\n') };
    }
    case 'stop': {
      const deleted = await ip('addr', 'del', cidr, 'dev', spec.interface);
      if (deleted.exitCode === HA_EXIT_OK) return deleted;
      const present = await monitor(ip, spec);
      return present.exitCode === HA_EXIT_NOT_RUNNING ? { ...present, exitCode: HA_EXIT_OK } : deleted;
    }
    case 'monitor':
      return monitor(ip, spec);
  }
}

async function monitor(ip: (...args: string[]) => Promise<HaOpResult>, spec: IpSpec): Promise<HaOpResult> {
  const cidr = `${canonicalAddress(spec.address)}/${spec.prefixLength}`;
  // `to` keeps the listing short (the output is a tail); the exact address is then looked for in it.
  const shown = await ip('-o', 'addr', 'show', 'dev', spec.interface, 'to', cidr);
  if (shown.exitCode !== HA_EXIT_OK) return shown;
  const present = shown.output.split('\n').some((line) => line.split(/\s+/).includes(cidr));
  return { ...shown, exitCode: present ? HA_EXIT_OK : HA_EXIT_NOT_RUNNING, output: present ? cidr : `${cidr} absent` };
}
