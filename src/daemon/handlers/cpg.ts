/**
 * Admin-socket methods of closed process groups: `cpgJoin`, `cpgLeave`, `cpgMcast`, `cpgMembership`, `cpgGroups`
 * (docs/contracts.md); each
 * connection is one CPG process (pid = connection id) and receives its groups' `cpgDeliver` / `cpgConfchg`
 * events. A message's bytes go raw in the binary framing, base64 in JSON lines (src/ipc).
 */
import { bytesOf } from '../../ipc/methods.ts';
import type { Guarantee } from '../../totem/index.ts';
import type { AdminConnection, Handlers } from '../admin-socket.ts';
import type { NodeEngine } from '../engine.ts';
import { refusal } from './refusal.ts';

const OK = { ok: true };

export function cpgHandlers(
  engine: NodeEngine,
): Pick<Handlers, 'cpgJoin' | 'cpgLeave' | 'cpgMcast' | 'cpgMembership' | 'cpgGroups'> {
  const cpgConnections = new Map<number, AdminConnection>();
  const toAddress = (a: { nodeId: number; pid: number; reason?: string }) => ({
    nodeid: a.nodeId,
    pid: a.pid,
    ...(a.reason ? { reason: a.reason } : {}),
  });
  engine.on('cpgDeliver', (e) =>
    cpgConnections
      .get(e.pid)
      ?.push('cpg', { group: e.group, nodeid: e.sender.nodeId, pid: e.sender.pid, data: e.payload }, 'cpgDeliver'),
  );
  engine.on('cpgConfchg', (e) =>
    cpgConnections.get(e.pid)?.push(
      'cpg',
      {
        group: e.group,
        members: e.members.map(toAddress),
        left: e.left.map(toAddress),
        joined: e.joined.map(toAddress),
      },
      'cpgConfchg',
    ),
  );
  const multicast = (group: string, pid: number, payload: Uint8Array, seq?: number, delivery?: Guarantee) => {
    let admitted: Promise<void> | undefined;
    try {
      admitted = engine.cpgMulticast(group, pid, payload, seq, delivery);
    } catch (error) {
      refusal(error);
    }
    // Totem's queue was full: answer once the message entered it (the sender is paced by this answer).
    return admitted === undefined ? OK : admitted.then(() => OK, refusal);
  };
  const registerProcess = (connection: AdminConnection) => {
    if (cpgConnections.has(connection.id)) return;
    cpgConnections.set(connection.id, connection);
    connection.topics.add('cpg');
    connection.onClose(() => {
      cpgConnections.delete(connection.id);
      engine.processDown(connection.id);
    });
  };
  return {
    cpgJoin: ({ group }, connection) => {
      registerProcess(connection);
      try {
        engine.cpgJoin(group, connection.id);
      } catch (error) {
        refusal(error);
      }
      // The caller's own address in the group (libcpg's cpg_local_get): its messages come back with it.
      return { ok: true, nodeid: engine.localNodeId, pid: connection.id };
    },
    cpgLeave: ({ group }, connection) => {
      try {
        engine.cpgLeave(group, connection.id);
      } catch (error) {
        refusal(error);
      }
      return OK;
    },
    /** libcpg's cpg_membership_get: the group's members as this node sees them now. */
    cpgMembership: ({ group }) => ({ group, members: engine.cpgMembers(group).map(toAddress) }),
    /** libcpg's cpg_iteration (corosync-cpgtool): every group with members, with them. */
    cpgGroups: () => ({
      groups: engine.cpgGroups().map((name) => ({ group: name, members: engine.cpgMembers(name).map(toAddress) })),
    }),
    cpgMcast: ({ group, data, seq, delivery }, connection) => {
      registerProcess(connection);
      const payload = bytesOf(data);
      // The sender does not keep up reading its deliveries: wait (in order) until it caught up. Otherwise at once,
      // without a closure per message.
      const backlog = connection.outputBacklog();
      if (backlog === undefined) return multicast(group, connection.id, payload, seq, delivery);
      return backlog.then(() => multicast(group, connection.id, payload, seq, delivery));
    },
  };
}
