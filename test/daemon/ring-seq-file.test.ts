// The ring id file (issue 15, defect 2): a write that fails (here the path is taken by a directory, as ENOSPC or
// EMFILE would fail it) is reported through the warning callback and never thrown; the next write retries; the file
// is written 0600, off the event loop, the newest value asked for last.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RingSeqFile } from '../../src/daemon/ring-seq-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'corolink-ringid-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ring id file', () => {
  test('a failed write is reported, not thrown, and retried by the next one', async () => {
    const warnings: string[] = [];
    const file = new RingSeqFile(dir, 7, (message) => warnings.push(message));
    const path = join(dir, 'ringid_7');
    mkdirSync(path);
    assert.doesNotThrow(() => file.write(12));
    await file.settled();
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /^cannot store ring sequence 12 in .*ringid_7 \(EISDIR\): retried at the next membership change/,
    );
    rmSync(path, { recursive: true });
    file.write(12);
    await file.settled();
    assert.equal(file.read(), 12);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(warnings.length, 1);
  });

  test('writes asked for while one is under way: the newest value ends on disk, older ones never after it', async () => {
    const file = new RingSeqFile(dir, 8);
    for (const seq of [4, 9, 6, 20, 16]) file.write(seq);
    await file.settled();
    assert.equal(file.read(), 20);
    file.write(20);
    file.write(3);
    await file.settled();
    assert.equal(file.read(), 20);
  });
});
