// The daemon's logging as corosync's `logging {}` says: routes per destination and subsystem, the journal's native
// protocol and /dev/log (fake listeners), a logrotate-style rename + reopen that loses no line, and the `<N>`
// priority prefix on stderr under the journal.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSocket, type UnixDgramSocket } from 'unix-dgram';
import { Logger } from '../../src/daemon/log.ts';
import { loggingSetup } from '../../src/daemon/log-config.ts';
import { LOG_CHUNK_BYTES, StreamSink } from '../../src/daemon/log-sinks.ts';

const WAIT_MS = 10_000;

/** A unix datagram listener that collects what it receives. */
function listen(path: string): { socket: UnixDgramSocket; received: Buffer[]; waitFor(n: number): Promise<void> } {
  const received: Buffer[] = [];
  const waiters: (() => void)[] = [];
  const socket = createSocket('unix_dgram', (message) => {
    received.push(message);
    for (const waiter of waiters.splice(0)) waiter();
  });
  socket.bind(path);
  const waitFor = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${received.length} of ${n} datagrams in ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      const check = () => {
        if (received.length < n) return waiters.push(check);
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  return { socket, received, waitFor };
}

/** A journal native datagram as fields (every value here is one line). */
function fields(datagram: Buffer): Record<string, string> {
  const lines = datagram.toString('utf8').trimEnd().split('\n');
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe('logging', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'corolink-log-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('to_syslog with a journal: native records with priorities, identifier and corolink fields', async (t) => {
    const journal = listen(join(dir, 'journal.socket'));
    t.after(() => journal.socket.close());
    const { options } = loggingSetup({ to_syslog: true, syslog_priority: 'debug' }, [], {
      forceStderr: false,
      nodeId: 7,
    });
    const logger = new Logger({ ...options, journalSocket: join(dir, 'journal.socket'), devLog: join(dir, 'none') });
    assert.deepEqual(logger.startupWarnings(), []);
    logger.log('error', 'TOTEM', 'a token was lost');
    logger.log('warning', 'KNET', 'link 1 down');
    logger.log('notice', 'QUORUM', 'quorate');
    logger.log('info', 'CPG', 'joined');
    logger.log('debug', 'CFS', 'details');
    await journal.waitFor(5);
    const records = journal.received.map(fields);
    assert.deepEqual(
      records.map((r) => [r.PRIORITY, r.COROLINK_SUBSYS]),
      [
        ['3', 'TOTEM'],
        ['4', 'KNET'],
        ['5', 'QUORUM'],
        ['6', 'CPG'],
        ['7', 'CFS'],
      ],
    );
    for (const record of records) {
      assert.equal(record.SYSLOG_IDENTIFIER, 'corolink');
      assert.equal(record.SYSLOG_FACILITY, '3');
      assert.equal(record.COROLINK_NODEID, '7');
      assert.equal(record.SYSLOG_PID, String(process.pid));
    }
    assert.equal(records[0]!.MESSAGE, '[TOTEM ] a token was lost');
    await logger.close();
  });

  test('to_syslog without a journal: /dev/log lines with the facility and priority, below syslog_priority dropped', async (t) => {
    const devLog = listen(join(dir, 'log'));
    t.after(() => devLog.socket.close());
    const { options } = loggingSetup({ to_syslog: true, syslog_priority: 'notice', syslog_facility: 'local3' }, [], {
      forceStderr: false,
    });
    const logger = new Logger({ ...options, journalSocket: join(dir, 'no-journal'), devLog: join(dir, 'log') });
    logger.log('info', 'MAIN', 'below the priority');
    logger.log('warning', 'MAIN', 'something odd');
    logger.log('notice', 'QUORUM', 'quorate');
    await devLog.waitFor(2);
    const lines = devLog.received.map((b) => b.toString('utf8'));
    // local3 is 19: 19 × 8 + 4 = 156, + 5 = 157.
    assert.match(lines[0]!, /^<156>\w{3} [ \d]\d \d\d:\d\d:\d\d corolink\[\d+\]: \[MAIN {2}\] something odd$/);
    assert.match(lines[1]!, /^<157>.* corolink\[\d+\]: \[QUORUM\] quorate$/);
    await logger.close();
  });

  test('to_syslog with no socket to send to is a warning, not a failure', () => {
    const { options } = loggingSetup({ to_syslog: true }, [], { forceStderr: false });
    const logger = new Logger({ ...options, journalSocket: join(dir, 'a'), devLog: join(dir, 'b') });
    assert.match(
      logger.startupWarnings().join('\n'),
      /to_syslog is on but nothing goes to syslog: neither .*a nor .*b exists/,
    );
    logger.log('error', 'MAIN', 'still logged to the ring');
    assert.equal(logger.recent(1)[0]!.message, 'still logged to the ring');
  });

  test('a logrotate-style rename and reopen loses no line', async () => {
    const path = join(dir, 'corolink.log');
    const { options } = loggingSetup({ to_logfile: true, logfile: path }, [], { forceStderr: false });
    const logger = new Logger(options);
    const LINES = 20_000;
    for (let i = 0; i < LINES / 2; i++) logger.log('notice', 'MAIN', `line ${i}`);
    // The file is opened and written asynchronously; rename it once the first lines reached it, with more still
    // buffered and in flight, as logrotate does to a busy daemon.
    for (let waited = 0; !existsSync(path) || statSync(path).size === 0; waited++) {
      assert.ok(waited < 1000, 'the log file was created');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    renameSync(path, `${path}.1`);
    assert.equal(logger.reopen(), true);
    for (let i = LINES / 2; i < LINES; i++) logger.log('notice', 'MAIN', `line ${i}`);
    await logger.close();
    const numbers = [readFileSync(`${path}.1`, 'utf8'), readFileSync(path, 'utf8')]
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => Number(/line (\d+)$/.exec(line)![1]));
    assert.equal(numbers.length, LINES);
    assert.deepEqual(
      numbers,
      Array.from({ length: LINES }, (_, i) => i),
    );
    assert.ok(readFileSync(path, 'utf8').length > 0, 'lines after the reopen went to the new file');
  });

  test('a burst crosses the log chunks whole: multi-byte text, a line longer than a chunk', async () => {
    const path = join(dir, 'chunks.log');
    const errors: Error[] = [];
    const sink = new StreamSink(path, (error) => errors.push(error));
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ünïcødé ✓ 𝄞 ${'ü'.repeat(i % 300)}\n`);
    // 2 bytes a character in UTF-8: twice a chunk.
    lines.splice(2500, 0, `${'é'.repeat(LOG_CHUNK_BYTES)}\n`);
    for (const line of lines) sink.write(line);
    await sink.close();
    assert.deepEqual(errors, []);
    assert.equal(readFileSync(path, 'utf8'), lines.join(''));
  });

  test('logger_subsys: debug for one subsystem only, a priority of its own for another', async () => {
    const path = join(dir, 'subsys.log');
    const { options, warnings } = loggingSetup(
      { to_logfile: true, logfile: path, logfile_priority: 'info' },
      [
        { subsys: 'QUORUM', debug: 'on' },
        { subsys: 'KNET', logfile_priority: 'warning' },
        { subsys: 'NOSUCH', debug: 'on' },
      ],
      { forceStderr: false },
    );
    assert.deepEqual(warnings, [
      'logging.logger_subsys.2: no subsystem "NOSUCH" (corolink has KNET, TOTEM, QUORUM, QDEVICE, CPG, CFS, HA, CFG, MAIN): ignored',
    ]);
    const logger = new Logger(options);
    logger.log('debug', 'QUORUM', 'quorum detail');
    logger.log('debug', 'TOTEM', 'totem detail');
    logger.log('info', 'KNET', 'knet info');
    logger.log('warning', 'KNET', 'knet warning');
    logger.log('info', 'TOTEM', 'totem info');
    await logger.close();
    const messages = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => line.slice(line.indexOf('] ', line.indexOf('corolink')) + 2));
    assert.deepEqual(messages, ['quorum detail', 'knet warning', 'totem info']);
  });

  test('what corolink cannot honour is a warning naming the key (debug: trace is honoured: the token trace)', () => {
    const { warnings } = loggingSetup(
      { fileline: true, blackbox: true, logfile_priority: 'loud', syslog_facility: 'mars', debug: 'trace' },
      [],
      { forceStderr: false },
    );
    assert.deepEqual(warnings, [
      'logging.fileline: not supported by corolink, ignored',
      'logging.blackbox: not supported by corolink, ignored',
      'logging.syslog_facility: unknown facility "mars", using daemon',
      'logging.logfile_priority: unknown priority "loud", using info',
    ]);
  });

  test('timestamp: off and on shape the line as corosync does', async () => {
    const path = join(dir, 'stamp.log');
    const off = new Logger({
      ...loggingSetup({ to_logfile: true, logfile: path, timestamp: 'off' }, [], { forceStderr: false, host: 'h' })
        .options,
    });
    off.log('notice', 'MAIN', 'no stamp');
    await off.close();
    const on = new Logger({
      ...loggingSetup({ to_logfile: true, logfile: path, timestamp: 'on' }, [], { forceStderr: false, host: 'h' })
        .options,
    });
    on.log('notice', 'MAIN', 'seconds');
    await on.close();
    const [first, second] = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.match(first!, /^\[\d+\] h corolink notice {2}\[MAIN {2}\] no stamp$/);
    assert.match(second!, /^\w{3} \d\d \d\d:\d\d:\d\d \[\d+\] h corolink notice {2}\[MAIN {2}\] seconds$/);
  });
});
