/**
 * A CPG group member in a process of its own, as cpgbench's `-m recv` is for Corosync: joins `group` through the
 * daemon at `socket`, prints `joined`, reads every message and leaves when its stdin closes (or after LIFE_MS).
 * `node --import tsx bench/cpg-member.ts <socket> <group>`; used by ./round-trips.ts for the members on n2 and n3,
 * so their deliveries are not handled on the sender's thread.
 */
import { CorolinkClient } from '../src/client/client.ts';

/** Longest life: a member whose parent died without closing its stdin still ends. */
const LIFE_MS = 15 * 60_000;

const [socket, groupName] = process.argv.slice(2);
if (!socket || !groupName) throw new Error('usage: cpg-member.ts <socket> <group>');
const client = await CorolinkClient.connect({ socket, reconnect: false });
const group = await client.cpgJoin(groupName);
let received = 0;
group.on('message', () => void received++);
const life = setTimeout(() => process.stdin.destroy(), LIFE_MS);
process.stdin.on('close', () => {
  clearTimeout(life);
  client.close();
});
process.stdin.resume();
process.stdout.write('joined\n');
