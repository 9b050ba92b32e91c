import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { labHostsText, labStatusText } from '../../src/cli/format/lab.ts';
import { hasFaultyLink, linksText } from '../../src/cli/format/links.ts';
import { nodesText, quorumText, statusText } from '../../src/cli/format/status.ts';
import { ctime, field, hexNodeId } from '../../src/cli/format/text.ts';
import type { StatusV1 } from '../../src/ipc/schema.ts';
import { LinksV1Schema, StatusV1Schema, statusSchemaDocument } from '../../src/ipc/schema.ts';
import { inquorateStatus, quorateLinks, quorateStatus } from './fixtures.ts';

/** Wed Nov  4 09:05:07 2026 in local time, whatever the test machine's time zone. */
const date = new Date(2026, 10, 4, 9, 5, 7);

describe('text helpers', () => {
  it('pads labels like printf "%-17s %s" so values start at column 19', () => {
    assert.equal(field('Name:', 'demo'), 'Name:             demo');
    assert.equal(field('Highest expected:', 3).indexOf('3'), 18);
  });

  it('prints node ids as 0x%08x', () => {
    assert.equal(hexNodeId(1), '0x00000001');
    assert.equal(hexNodeId(0x1c), '0x0000001c');
    assert.equal(hexNodeId(4_294_967_295), '0xffffffff');
  });

  it('prints dates like ctime(), day of month padded with a space', () => {
    assert.equal(ctime(date), 'Wed Nov  4 09:05:07 2026');
    assert.equal(ctime(new Date(2026, 10, 24, 21, 49, 34)), 'Tue Nov 24 21:49:34 2026');
  });
});

describe('statusText', () => {
  it('prints the pvecm status sections and the link status of every node', () => {
    const expected = [
      'Cluster information',
      '-------------------',
      'Name:             demo',
      'Config Version:   3',
      'Transport:        knet',
      'Secure auth:      on',
      '',
      'Quorum information',
      '------------------',
      'Date:             Wed Nov  4 09:05:07 2026',
      'Quorum provider:  corosync_votequorum',
      'Nodes:            3',
      'Node ID:          0x00000001',
      'Ring ID:          1.2c',
      'Quorate:          Yes',
      '',
      'Votequorum information',
      '----------------------',
      'Expected votes:   3',
      'Highest expected: 3',
      'Total votes:      3',
      'Quorum:           2  ',
      'Flags:            Quorate ',
      '',
      'Membership information',
      '----------------------',
      '    Nodeid      Votes Name',
      '0x00000001          1 n1 (local)',
      '0x00000002          1 n2',
      '0x00000003          1 n3',
      '',
      'Link status',
      '-----------',
      'Node 0x00000001 n1 (local)',
      '    link0: UP      127.0.10.1',
      '    link1: UP      127.0.20.1',
      'Node 0x00000002 n2',
      '    link0: UP      0.08 ms',
      '    link1: UP      0.10 ms',
      'Node 0x00000003 n3',
      '    link0: DOWN    (no pong for 262 ms)',
      '    link1: UP      0.12 ms',
      '',
    ].join('\n');
    assert.equal(statusText(quorateStatus, { date }), expected);
  });

  it('shows an inquorate node: Quorate No, Activity blocked, empty flags, hex ids, non-members', () => {
    const text = statusText(inquorateStatus, { date });
    const lines = text.split('\n');
    assert.ok(lines.includes('Secure auth:      off'));
    assert.ok(lines.includes('Node ID:          0x0000001c'));
    assert.ok(lines.includes('Ring ID:          1c.1f3'));
    assert.ok(lines.includes('Nodes:            1'));
    assert.ok(lines.includes('Quorate:          No'));
    assert.ok(lines.includes('Total votes:      1'));
    assert.ok(lines.includes('Quorum:           2 Activity blocked'));
    assert.ok(lines.includes('Flags:            '));
    assert.ok(lines.includes('0x0000001c          1 lab-n28 (local)'));
    const linkStatus = lines.slice(lines.indexOf('Link status'));
    assert.deepEqual(linkStatus, [
      'Link status',
      '-----------',
      'Node 0x0000001c lab-n28 (local)',
      '    link0: DOWN    (disabled)',
      'Node 0x00000002 lab-n2 (not a member)',
      'Node 0x000000ff lab-n255 (not a member)',
      '',
    ]);
  });
});

describe('quorumText', () => {
  it('reproduces the corosync-quorumtool -s sample of the reference byte for byte', () => {
    const sample: StatusV1 = {
      ...quorateStatus,
      members: ['pve1', 'pve2', 'pve3'].map((name, index) => ({
        nodeid: index + 1,
        name,
        votes: 1,
        local: index === 0,
        links: [],
      })),
    };
    const expected = [
      'Quorum information',
      '------------------',
      'Date:             Tue Nov 24 21:49:34 2026',
      'Quorum provider:  corosync_votequorum',
      'Nodes:            3',
      'Node ID:          1',
      'Ring ID:          1.2c',
      'Quorate:          Yes',
      '',
      'Votequorum information',
      '----------------------',
      'Expected votes:   3',
      'Highest expected: 3',
      'Total votes:      3',
      'Quorum:           2  ',
      'Flags:            Quorate ',
      '',
      'Membership information',
      '----------------------',
      '    Nodeid      Votes Name',
      '         1          1 pve1 (local)',
      '         2          1 pve2',
      '         3          1 pve3',
      '',
    ].join('\n');
    assert.equal(quorumText(sample, { date: new Date(2026, 10, 24, 21, 49, 34) }), expected);
  });

  it('lists several flags, each followed by a space', () => {
    const twoNode = {
      ...quorateStatus,
      quorum: { ...quorateStatus.quorum, flags: ['2Node', 'Quorate', 'WaitForAll'] },
    };
    assert.ok(quorumText(twoNode, { date }).includes('\nFlags:            2Node Quorate WaitForAll \n'));
  });
});

describe('nodesText', () => {
  it('prints the corosync-quorumtool -l table with decimal ids right-aligned to 10, after an empty line', () => {
    assert.equal(
      nodesText(inquorateStatus),
      [
        '',
        'Membership information',
        '----------------------',
        '    Nodeid      Votes Name',
        '        28          1 lab-n28 (local)',
        '',
      ].join('\n'),
    );
  });
});

describe('nodesText -o / -a', () => {
  // n1 … n3 renamed so that the three orders differ: by name c, a, b; by link0 address 3, 1, 2.
  const renamed: StatusV1 = {
    ...quorateStatus,
    members: quorateStatus.members.map((m) => ({
      ...m,
      name: ({ 1: 'c', 2: 'a', 3: 'b' } as Record<number, string>)[m.nodeid]!,
      links: m.links.map((l) => ({
        ...l,
        address:
          l.address &&
          `127.0.${l.link === 0 ? 10 : 20}.${({ 1: 30, 2: 20, 3: 10 } as Record<number, number>)[m.nodeid]}`,
      })),
    })),
  };
  const ids = (text: string) => [...text.matchAll(/^ +(\d+) +\d+ /gm)].map((m) => Number(m[1]));
  it('orders the rows by id, name or link0 address (corosync-quorumtool -o i|n|a)', () => {
    assert.deepEqual(ids(nodesText(renamed)), [1, 2, 3]);
    assert.deepEqual(ids(nodesText(renamed, { order: 'name' })), [2, 3, 1]);
    assert.deepEqual(ids(nodesText(renamed, { order: 'address' })), [3, 2, 1]);
  });
  it("adds every link's address to each row (-a)", () => {
    const text = nodesText(renamed, { addresses: true });
    assert.match(text, /^ +3 +1 b {2}\[link0 127\.0\.10\.10, link1 127\.0\.20\.10\]$/m);
    assert.match(text, /^ +1 +1 c \(local\) {2}\[link0 127\.0\.10\.30, link1 127\.0\.20\.30\]$/m);
  });
});

describe('linksText', () => {
  it('lists local links, then every peer × link with address, state, active, latency, down count and reason, aligned', () => {
    const names = new Map([
      [2, 'n2'],
      [3, 'n3'],
    ]);
    const expected = [
      'Local node ID 0x00000001, transport knet',
      '',
      'Link   Address     Enabled  Carrier  Priority   MTU',
      'link0  127.0.10.1  yes      -               1     -',
      'link1  127.0.20.1  yes      yes             0  1397',
      '',
      'Nodeid      Name  Link   Address     State  Active  Enabled  Connected  Priority  Latency min/avg/max ms  Downs   MTU  Reason',
      '0x00000002  n2    link0  127.0.10.2  UP     yes     yes      yes               1          0.05/0.11/0.20      0  1397',
      '0x00000002  n2    link1  127.0.20.2  UP     no      yes      yes               0          0.05/0.11/0.20      0  1397',
      '0x00000003  n3    link0  127.0.10.3  DOWN   no      yes      no                1                   -/-/-      2  1397  no pong for 262 ms',
      '0x00000003  n3    link1  127.0.20.3  UP     yes     yes      yes               0          0.05/0.11/0.20      0  1397',
      '',
    ].join('\n');
    assert.equal(linksText(quorateLinks, { names }), expected);
  });

  it('a local link without carrier is faulty (exit 1), as a peer link DOWN is', () => {
    const upPeers = quorateLinks.peers.map((p) => ({ ...p, state: 'UP' as const, connected: true, reason: null }));
    const healthy = { ...quorateLinks, peers: upPeers };
    assert.equal(hasFaultyLink(healthy), false);
    const pulled = { ...healthy, links: healthy.links.map((l) => (l.link === 1 ? { ...l, carrier: false } : l)) };
    assert.equal(hasFaultyLink(pulled), true);
    assert.match(linksText(pulled), /^link1 +127\.0\.20\.1 +yes +no /m);
  });

  it('says so when there are no peers, and shows - for unknown names', () => {
    const text = linksText({ ...quorateLinks, peers: [] });
    assert.ok(text.endsWith('\nNo peers configured.\n'));
    assert.ok(linksText(quorateLinks).includes('0x00000002  -     link0'));
  });
});

describe('status schema (docs/status.schema.json)', () => {
  it('accepts the fixtures', () => {
    for (const status of [quorateStatus, inquorateStatus]) {
      assert.ok(Value.Check(StatusV1Schema, status), JSON.stringify([...Value.Errors(StatusV1Schema, status)]));
    }
    assert.ok(Value.Check(LinksV1Schema, quorateLinks), JSON.stringify([...Value.Errors(LinksV1Schema, quorateLinks)]));
  });

  it('rejects a wrong version, a nodeid of 0, a link 8 and a lowercase state', () => {
    assert.equal(Value.Check(StatusV1Schema, { ...quorateStatus, version: 2 }), false);
    assert.equal(Value.Check(StatusV1Schema, { ...quorateStatus, local_nodeid: 0 }), false);
    const badLink = structuredClone(quorateStatus);
    badLink.members[0]!.links[0]!.link = 8;
    assert.equal(Value.Check(StatusV1Schema, badLink), false);
    const badState = structuredClone(quorateLinks) as unknown as { peers: { state: string }[] };
    badState.peers[0]!.state = 'up';
    assert.equal(Value.Check(LinksV1Schema, badState), false);
  });

  it('is the published file, generated from src/ipc/schema.ts', () => {
    const published = JSON.parse(readFileSync('docs/status.schema.json', 'utf8'));
    assert.deepEqual(
      published,
      JSON.parse(JSON.stringify(statusSchemaDocument())),
      'docs/status.schema.json is stale: regenerate it from statusSchemaDocument() (see docs/client.md)',
    );
  });
});

describe('lab text', () => {
  it('lab status: one row per host, links up per link counted over the other members', () => {
    const text = labStatusText({ n1: quorateStatus, n28: inquorateStatus, n3: null });
    assert.equal(
      text,
      [
        'Host  Ring ID  Members  Quorate  Links up (peers)',
        'n1    1.2c     1,2,3    yes      link0 1/2 link1 2/2',
        'n28   1c.1f3   28       NO       link0 0/0',
        'n3    -        -        -        daemon not running',
        '',
      ].join('\n'),
    );
  });

  it('lab up: host, an address per link, config, socket and log', () => {
    const text = labHostsText([
      {
        name: 'n1',
        addresses: ['198.18.10.1', '198.18.20.1'],
        config: '/l/corosync.conf',
        socket: '/l/n1.sock',
        log: '/l/n1.log',
      },
    ]);
    assert.equal(
      text,
      'Host  link0        link1        Config            Socket      Log\nn1    198.18.10.1  198.18.20.1  /l/corosync.conf  /l/n1.sock  /l/n1.log\n',
    );
  });
});
