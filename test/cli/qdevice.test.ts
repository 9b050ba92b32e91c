// The pure parts of `corolink qdevice setup|remove`: the corosync.conf edit (as pvecm writes it) and the checks of
// what comes back from the qnetd host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caPemOf, checkClusterName } from '../../src/cli/qdevice/certs.ts';
import {
  addQuorumDevice,
  defaultAlgorithm,
  deviceVotes,
  hasQuorumDevice,
  removeQuorumDevice,
} from '../../src/cli/qdevice/device-config.ts';
import { shellQuote } from '../../src/cli/qdevice/remote-shell.ts';
import { deviceVoteCounted, waitForDeviceVote } from '../../src/cli/qdevice/verify.ts';
import { ConfigEditError, checkConfigText, parseConfig, printConfig, removeSection } from '../../src/config/index.ts';
import type { StatusV1 } from '../../src/ipc/schema.ts';
import { quorateStatus } from './fixtures.ts';

const TWO_NODES = `totem {
  cluster_name: demo
  config_version: 4
}

nodelist {
  node {
    nodeid: 1
    ring0_addr: 198.18.10.1
  }
  node {
    nodeid: 2
    ring0_addr: 198.18.10.2
  }
}

quorum {
  provider: corosync_votequorum
  # two nodes
  two_node: 1
}
`;

const DEVICE = `quorum {
  provider: corosync_votequorum
  # two nodes
  device {
    votes: 1
    model: net
    net {
      host: 198.18.10.250
      algorithm: ffsplit
      tls: on
      tie_breaker: lowest
    }
  }
}
`;

describe('qdevice: the corosync.conf edit', () => {
  it('setup adds the device section as pvecm does and drops two_node; remove takes the section out again', () => {
    const { tree } = parseConfig(TWO_NODES, 'corosync.conf');
    addQuorumDevice(tree, { host: '198.18.10.250', algorithm: 'ffsplit', tieBreaker: 'lowest' });
    const added = printConfig(tree);
    assert.ok(added.endsWith(DEVICE), added);
    assert.ok(hasQuorumDevice(tree));
    const checked = checkConfigText(added, 'corosync.conf');
    assert.equal(checked.effective.quorum.twoNode, false);
    removeQuorumDevice(tree);
    assert.ok(printConfig(tree).endsWith('quorum {\n  provider: corosync_votequorum\n  # two nodes\n}\n'));
    assert.equal(hasQuorumDevice(tree), false);
  });

  it('lms leaves the votes to corosync (nodes − 1); a second device or removing none is refused', () => {
    const { tree } = parseConfig(TWO_NODES, 'corosync.conf');
    addQuorumDevice(tree, { host: 'qnetd.example', algorithm: 'lms', tieBreaker: '2' });
    const text = printConfig(tree);
    assert.doesNotMatch(text, /votes: 1/);
    assert.match(text, /algorithm: lms\n {6}tls: on\n {6}tie_breaker: 2\n/);
    assert.throws(
      () => addQuorumDevice(tree, { host: 'x', algorithm: 'ffsplit', tieBreaker: 'lowest' }),
      (error: Error) => error instanceof ConfigEditError && /configured already/.test(error.message),
    );
    removeQuorumDevice(tree);
    assert.throws(() => removeQuorumDevice(tree), /no quorum device is configured/);
  });

  it('pvecm picks ffsplit (1 vote) for an even node count and asks for lms (nodes − 1 votes) for an odd one', () => {
    assert.equal(defaultAlgorithm(2), 'ffsplit');
    assert.equal(defaultAlgorithm(4), 'ffsplit');
    assert.equal(defaultAlgorithm(3), undefined);
    assert.equal(deviceVotes('ffsplit', 4), 1);
    assert.equal(deviceVotes('lms', 3), 2);
  });

  it('removeSection removes a nested section with its contents and says whether there was one', () => {
    const { tree } = parseConfig(DEVICE, 'corosync.conf');
    assert.equal(removeSection(tree, ['quorum', 'device', 'net']), true);
    assert.doesNotMatch(printConfig(tree), /net \{|host:/);
    assert.equal(removeSection(tree, ['quorum', 'device', 'net']), false);
    assert.equal(removeSection(tree, ['quorum']), true);
    assert.equal(printConfig(tree), '');
  });
});

describe('qdevice: what comes from the qnetd host', () => {
  it('takes the one PEM certificate out of corosync-qnetd-certutil’s CA export and refuses other content', () => {
    // A CA certificate made as corosync-qnetd-certutil -i makes it (CN=QNet CA, CA:TRUE), after certutil's dump.
    const pem = CA_PEM.trim();
    assert.equal(caPemOf(`Certificate:\n    Data:\n        Version: 3 (0x2)\n${pem}\n`, 'ca'), `${pem}\n`);
    assert.throws(() => caPemOf('Certificate:\n', 'host:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt'), {
      message: 'host:/etc/corosync/qnetd/nssdb/qnetd-cacert.crt: expected one PEM certificate, found 0',
    });
    assert.throws(() => caPemOf(`${pem}\n${pem}\n`, 'ca'), /found 2/);
  });

  it('a cluster name must be usable as the CN and in qnetd’s file name', () => {
    assert.equal(checkClusterName('pve-cluster_1.a'), 'pve-cluster_1.a');
    assert.throws(() => checkClusterName(null), /cluster_name is not set/);
    assert.throws(() => checkClusterName('a b'), /cannot name a qdevice certificate/);
    assert.throws(() => checkClusterName('../x'), /cannot name a qdevice certificate/);
  });

  it('quotes words for the remote shell', () => {
    assert.equal(shellQuote('/etc/corolink/qdevice/net'), '/etc/corolink/qdevice/net');
    assert.equal(shellQuote("it's a dir"), `'it'\\''s a dir'`);
  });
});

describe('qdevice: waiting for the vote', () => {
  /** The 3 members of the fixture with a device of `votes` that votequorum does or does not count yet. */
  const withDevice = (counted: boolean, votes = 1): StatusV1 => ({
    ...quorateStatus,
    quorum: {
      ...quorateStatus.quorum,
      expected_votes: 3 + votes,
      total_votes: counted ? 3 + votes : 3,
      flags: counted ? ['Quorate', 'Qdevice'] : ['Quorate'],
    },
  });

  it('counted only with the Qdevice flag and the device votes in the total', () => {
    assert.equal(deviceVoteCounted(withDevice(true), 1), true);
    assert.equal(deviceVoteCounted(withDevice(false), 1), false);
    assert.equal(
      deviceVoteCounted({ ...withDevice(true), quorum: { ...withDevice(true).quorum, total_votes: 3 } }, 1),
      false,
    );
    assert.equal(deviceVoteCounted(withDevice(true, 2), 2), true);
  });

  it('polls every node until each counts the vote; names the ones that do not after the wait; 0: does not ask', async () => {
    const sequence = [withDevice(false), withDevice(false), withDevice(true)];
    let calls = 0;
    const n1 = { name: 'n1', status: async () => withDevice(true) };
    const n2 = { name: 'n2', status: async () => sequence[Math.min(calls++, sequence.length - 1)]! };
    const counted = await waitForDeviceVote([n1, n2], 1, 10_000);
    assert.equal(counted.counted, true);
    assert.equal(
      counted.text,
      '  n1: Qdevice vote counted: flags Quorate Qdevice, total votes 4, expected 4, quorum 2\n' +
        '  n2: Qdevice vote counted: flags Quorate Qdevice, total votes 4, expected 4, quorum 2\n',
    );
    assert.equal(calls, 3);
    const n3 = { name: 'n3', status: async () => withDevice(false) };
    const down = { name: 'n4', status: () => Promise.reject(new Error('ssh n4: exit status 255')) };
    const never = await waitForDeviceVote([n1, n3, down], 1, 1);
    assert.equal(never.counted, false);
    assert.match(never.text, /^ {2}n1: Qdevice vote counted/);
    assert.match(never.text, /\n {2}n3: not yet: flags Quorate, total votes 3, expected 4, quorum 2\n/);
    assert.match(never.text, /\n {2}n4: not yet: ssh n4: exit status 255\n/);
    assert.match(never.text, /warning: the device's vote is not counted on n3, n4 after 0\.001 s/);
    let asked = false;
    const asking = {
      name: 'n1',
      status: async () => {
        asked = true;
        return withDevice(true);
      },
    };
    const skipped = await waitForDeviceVote([asking], 1, 0);
    assert.deepEqual([skipped.counted, asked], [undefined, false]);
  });
});

const CA_PEM = `
-----BEGIN CERTIFICATE-----
MIICtzCCAZ+gAwIBAgIBZTANBgkqhkiG9w0BAQsFADASMRAwDgYDVQQDEwdRTmV0
IENBMCAXDTI2MTIwMzE4NTY1NloYDzIxMjYxMjAzMTg1NjU2WjASMRAwDgYDVQQD
EwdRTmV0IENBMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0I2rllT7
jM+mxA/RciLd1X061vGMOF9UIINL6DBc/fUPZh9FvvwLp9C7jmXafgPAEZ8iAET2
dvfzAk08FYZi9VEllspTHyFocz4v0YxNlFUKpFjrd8ol8QYZpkYDkXro6vl2KTLb
mc6BxTMew9WJ6giZKuZ1nJ7oAG7ZdEb4K8Pangx/LeCihscbpL3eXIn9DWXGBy6t
tD0xSOpfp/RJJ/dexUdEOU3h3Uhcgyfz+nMyKvtZo/ka48Yfu7L0otv8RA7izJOE
DzYm5kYeYmfbdC96FskQMdAoLaOf+pxlxoQSB1TYfhriMyCqdb+jd7lV78sx+5cg
UocUfjLZ4xtBxwIDAQABoxYwFDASBgNVHRMBAf8ECDAGAQH/AgEAMA0GCSqGSIb3
DQEBCwUAA4IBAQCNUO5S6V4EpHqNfy0yqpBGsi4ht/urdu33HCS5KZuygErW47Bf
OIcjhwsqxQJsTAFmxLt5nO7+7E3Wv4flwi1mXX2eSKoY11rekaPckySuJU9u1pAm
UmHe0lLQQJgdGN9NfhkFI6aq9XbUsXv2288FY0E9JjbEU50Wr6VmOopzKFJ9hTFt
wDjG4RiDEP89WzEc86GQ94ZlvTYj2WfCH7IfWN5CBrBhZOOC/cDYYMOV/niFs07M
RvgKgJ8hbtC5khBeECEPKBsITL4vgrJS6F2N3HiglW8cFfYKYzLTGbwxzw4UwqWm
8Vhj4KiMbAKmcbgt7zbC5qk0Kx9EvNtVTKmD
-----END CERTIFICATE-----
`;
