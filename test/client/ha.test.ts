// `client.ha` (src/client/ha.ts) in both framings against an admin socket serving the HA handlers over a
// recording HaControl: typed calls translated to the contract's params, the daemon's errors as DaemonRequestError,
// bad arguments refused before anything is sent, HA events through onEvent and watch('ha').
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CorolinkClient, type Framing } from '../../src/client/client.ts';
import { DaemonRequestError, InvalidArgumentError } from '../../src/client/errors.ts';
import type { HaEventV1 } from '../../src/ipc/schema.ts';
import { haAdminSocket, RecordingHaControl } from '../ipc/ha-fixtures.ts';

for (const framing of ['binary', 'json-lines'] as Framing[]) {
  describe(`client.ha (${framing})`, () => {
    const ha = new RecordingHaControl();
    let socket: Awaited<ReturnType<typeof haAdminSocket>>;
    let client: CorolinkClient;

    before(async () => {
      socket = await haAdminSocket(ha);
      client = await CorolinkClient.connect({ socket: socket.path, framing, reconnect: false });
    });
    after(async () => {
      client.close();
      await socket.close();
    });

    it('status() and resources()', async () => {
      const status = await client.ha.status();
      assert.equal(status.version, 1);
      assert.deepEqual(status.manager, { nodeid: 1, name: 'n1' });
      assert.equal(status.services.find((s) => s.sid === 'systemd:db')?.state, 'error');
      assert.equal(await client.ha.resources(), ha.text);
    });

    it('the writes reach HaControl with camelCase settings', async () => {
      ha.calls.length = 0;
      await client.ha.add('systemd: db\n\tunit postgresql.service\n');
      await client.ha.set('systemd:db', { state: 'started', maxRelocate: 2, comment: 'primary' });
      await client.ha.migrate('systemd:db', 2);
      await client.ha.relocate('systemd:db', 1);
      await client.ha.groupSet('group: db\n\tnodes n1\n');
      await client.ha.groupRemove('db');
      await client.ha.nodeMaintenance(3, false);
      await client.ha.remove('systemd:db');
      assert.deepEqual(ha.calls, [
        ['add', 'systemd: db\n\tunit postgresql.service\n'],
        ['set', 'systemd:db', { state: 'started', maxRelocate: 2, comment: 'primary' }],
        ['migrate', 'systemd:db', 2],
        ['relocate', 'systemd:db', 1],
        ['groupSet', 'group: db\n\tnodes n1\n'],
        ['groupRemove', 'db'],
        ['nodeMaintenance', 3, false],
        ['remove', 'systemd:db'],
      ]);
    });

    it("the managers' refusal is a DaemonRequestError with its code; bad arguments never leave", async () => {
      await assert.rejects(client.ha.add('exec: x\n\tbad 1\n'), (error: unknown) => {
        assert.ok(error instanceof DaemonRequestError);
        assert.equal(error.code, 'bad_request');
        assert.equal(error.method, 'haAdd');
        return true;
      });
      const before = ha.calls.length;
      await assert.rejects(client.ha.migrate('web', 2), InvalidArgumentError);
      await assert.rejects(client.ha.nodeMaintenance(0, true), { message: 'haNodeMaintenance: node must be >= 1' });
      assert.equal(ha.calls.length, before);
    });

    it('HA events through onEvent and watch("ha")', async () => {
      const seen: HaEventV1[] = [];
      const stop = await client.ha.onEvent((event) => seen.push(event));
      const iterator = await client.watch('ha');
      ha.emit({ sid: 'exec:web', nodeId: 1, message: 'service exec:web: recovery from n3 to n1 (n3 fenced)' });
      const watched = await iterator.next();
      assert.deepEqual(watched.value, {
        sid: 'exec:web',
        nodeid: 1,
        message: 'service exec:web: recovery from n3 to n1 (n3 fenced)',
      });
      assert.deepEqual(seen, [watched.value]);
      stop();
      await iterator.return?.();
    });
  });
}
