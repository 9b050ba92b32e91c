// The two framings of the admin socket (src/ipc): round trips, splits anywhere, raw payloads in binary frames,
// malformed frames reported (and the stream going on) or refused (over the limit), and the negotiation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binary, binaryV1, createGroupNameCache, decodeFrame } from '../../src/ipc/binary.ts';
import { type Decoded, type FrameCodec, FramingError, JsonText, type Message } from '../../src/ipc/framing.ts';
import { jsonLines } from '../../src/ipc/json-lines.ts';
import { BINARY_HELLO, negotiate } from '../../src/ipc/negotiate.ts';

const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 256);
const messages: Message[] = [
  { id: 1, method: 'status', params: {} },
  { id: 2, method: 'cpgMcast', params: { group: 'g', data: payload } },
  { id: 3, method: 'cfsPut', params: { path: 'a/b', data: new Uint8Array(0) } },
  { id: 4, result: { path: 'a', data: payload, version: 3, mtime: 5 } },
  { id: null, error: { code: 'bad_request', message: 'é✓' } },
  { event: 'cpgDeliver', data: { group: 'g', nodeid: 1, pid: 2, data: payload } },
  { event: 'quorum', data: { quorate: true } },
];

/** Decodes a byte stream fed one `step` bytes at a time. */
function decodeAll(codec: FrameCodec, bytes: Buffer, step: number, max = 1 << 20): Decoded[] {
  const decoder = codec.decoder(max);
  const out: Decoded[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...decoder.push(bytes.subarray(i, i + step)));
  return out;
}

const encodeAll = (codec: FrameCodec, list: Message[]) => Buffer.concat(codec.encode(list));

/** A message as the receiver of JSON lines sees it: a binary field as base64. */
function asBase64(message: Message): Message {
  return JSON.parse(
    JSON.stringify(message, (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)),
  );
}

/** Bytes as plain arrays (a Buffer and a Uint8Array of the same bytes compare equal). */
function bytesAsArrays(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? [...raw] : value;
}

const normalize = (decoded: Decoded[]) =>
  decoded.map((d) => ('message' in d ? JSON.parse(JSON.stringify(d.message, bytesAsArrays)) : d));

describe('binary framing', () => {
  it('round-trips every kind of message, split at every step size', () => {
    const bytes = encodeAll(binary, messages);
    for (const step of [1, 3, 4, 5, 9, 1000, bytes.length]) {
      assert.deepEqual(normalize(decodeAll(binary, bytes, step)), normalize(messages.map((message) => ({ message }))));
    }
  });

  it('carries a payload raw: the frame is head + header + the bytes themselves, no base64', () => {
    const big = Buffer.alloc(1024 * 1024, 0xab);
    const pieces = binary.encode([{ id: 9, method: 'cpgMcast', params: { group: 'g', data: big } }]);
    assert.equal(pieces.length, 2);
    assert.equal(pieces[1], big, 'the payload is passed on, not copied');
    const frame = Buffer.concat(pieces);
    const headerBytes = frame.readUInt32BE(5);
    assert.equal(frame.readUInt32BE(0), frame.length - 4);
    assert.equal(frame.readUInt8(4), 1);
    assert.deepEqual(JSON.parse(frame.toString('utf8', 9, 9 + headerBytes)), {
      id: 9,
      method: 'cpgMcast',
      params: { group: 'g' },
    });
    assert.equal(frame.length, 9 + headerBytes + big.length);
    assert.ok(frame.subarray(9 + headerBytes).equals(big));
  });

  it('reports a frame it cannot read and reads the next one', () => {
    const good = Buffer.concat(binary.encode([{ id: 1, method: 'status', params: {} }]));
    const frame = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    const header = (flags: number, headerBytes: number, text: string) => {
      const head = Buffer.alloc(5);
      head.writeUInt8(flags, 0);
      head.writeUInt32BE(headerBytes, 1);
      return frame(Buffer.concat([head, Buffer.from(text)]));
    };
    const bad: [Buffer, RegExp][] = [
      [frame(Buffer.from([1, 2])), /shorter than its head/],
      [header(0x80, 2, '{}'), /unknown flags/],
      [header(0, 50, '{}'), /overruns the frame/],
      [header(0, 3, 'nop'), /not JSON/],
      [header(0, 2, '[]'), /not a JSON object/],
      [header(0, 2, '{}xx'), /after a payload-less header/],
      [header(1, 8, '{"id":1}abc'), /no body to hold it/],
    ];
    for (const [bytes, problem] of bad) {
      const decoded = decodeAll(binary, Buffer.concat([bytes, good]), 2);
      assert.equal(decoded.length, 2, `${problem}`);
      assert.match((decoded[0] as { problem: string }).problem, problem);
      assert.deepEqual(decoded[1], { message: { id: 1, method: 'status', params: {} } });
    }
  });

  it('refuses a frame over its limit before reading it', () => {
    const decoder = binary.decoder(1000);
    assert.throws(() => decoder.push(Buffer.from([0, 0, 0x03, 0xe9])), FramingError);
    assert.deepEqual(decodeFrame(Buffer.from([0, 0, 0, 0, 0]), createGroupNameCache()), {
      problem: 'a frame header that is not JSON: ',
    });
  });
});

describe('binary framing version 2: compact frames of the CPG data path', () => {
  const data = Buffer.from('hello');
  const compactMessages: Message[] = [
    { id: 7, method: 'cpgMcast', params: { group: 'gr', data, seq: 4294967295 } },
    { id: 8, method: 'cpgMcast', params: { group: 'gr', data, seq: 0, delivery: 'safe' } },
    { id: 9, result: { ok: true } },
    { event: 'cpgDeliver', data: { group: 'gr', nodeid: 3, pid: 12, data } },
  ];

  it('a multicast, its answer and a delivery go without JSON, in their fixed layouts, and read back the same', () => {
    const frames = compactMessages.map((m) => Buffer.concat(binary.encode([m])));
    // u32 length, flags 0x02, kind, fixed fields, u8 group length + group, payload
    assert.equal(
      frames[0]!.toString('hex'),
      `00000013${'0201'}00000007${'ffffffff'}00${'02'}6772${data.toString('hex')}`,
    );
    assert.equal(
      frames[1]!.toString('hex'),
      `00000013${'0201'}00000008${'00000000'}01${'02'}6772${data.toString('hex')}`,
    );
    assert.equal(frames[2]!.toString('hex'), '00000006020200000009');
    assert.equal(
      frames[3]!.toString('hex'),
      `00000012${'0203'}00000003${'0000000c'}02${'6772'}${data.toString('hex')}`,
    );
    const bytes = Buffer.concat(frames);
    for (const step of [1, 5, bytes.length]) {
      assert.deepEqual(
        normalize(decodeAll(binary, bytes, step)),
        normalize(compactMessages.map((message) => ({ message }))),
      );
    }
  });

  it('a message that does not fit its compact layout exactly goes as JSON, unchanged', () => {
    const others: Message[] = [
      { id: 1, method: 'cpgMcast', params: { group: 'g', data } }, // no seq
      { id: 2, method: 'cpgMcast', params: { group: 'g', data, seq: 1, delivery: 'agreed' } }, // explicit default
      { id: 3, method: 'cpgMcast', params: { group: 'g', data, seq: 1, extra: true } },
      { id: 4, method: 'cpgMcast', params: { group: 'g', data, seq: -1 } },
      { id: 5, result: { ok: true, nodeid: 1 } },
      { id: 6, result: { ok: false } },
      { event: 'cpgDeliver', data: { group: 'g', nodeid: 1, pid: 2, data: 'base64' } },
      { event: 'cpgDeliver', data: { group: 'x'.repeat(256), nodeid: 1, pid: 2, data } },
    ];
    for (const message of others) {
      const frame = Buffer.concat(binary.encode([message]));
      assert.notEqual(frame[4], 0x02, `${JSON.stringify(message).slice(0, 80)} is not compact`);
      assert.deepEqual(normalize(decodeAll(binary, frame, 3)), normalize([{ message }]));
    }
  });

  it('a batch is one piece (payloads copied) unless a payload is large: that one goes uncopied', () => {
    const small = Array.from({ length: 50 }, (_, i) => compactMessages[i % compactMessages.length]!);
    assert.equal(binary.encode(small).length, 1);
    const big = Buffer.alloc(64 * 1024, 1);
    const pieces = binary.encode([
      compactMessages[0]!,
      { event: 'cpgDeliver', data: { group: 'g', nodeid: 1, pid: 2, data: big } },
      compactMessages[2]!,
    ]);
    assert.equal(pieces.length, 3);
    assert.equal(pieces[1], big);
    assert.equal(normalize(decodeAll(binary, Buffer.concat(pieces), 1000)).length, 3);
  });

  it('version 1 never sends a compact frame and refuses to read one', () => {
    const frames = Buffer.concat(binaryV1.encode(compactMessages));
    const decoded = decodeAll(binaryV1, frames, 7);
    assert.deepEqual(normalize(decoded), normalize(compactMessages.map((message) => ({ message }))));
    const compact = Buffer.concat(binary.encode([compactMessages[2]!]));
    assert.match((decodeAll(binaryV1, compact, 4)[0] as { problem: string }).problem, /unknown flags 0x2/);
  });

  it('reports a compact frame it cannot read and reads the next one', () => {
    const good = Buffer.concat(binary.encode([{ id: 1, result: { ok: true } }]));
    const frame = (hex: string) => {
      const body = Buffer.from(hex, 'hex');
      return Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    };
    const bad: [Buffer, RegExp][] = [
      [frame('0209'), /unknown kind 9/],
      [frame('02'), /unknown kind -1/],
      [frame('020100000001'), /shorter than its fields/],
      [frame('0202000000010000'), /compact answer of 8 bytes/],
      [frame('02030000000100000002056162'), /group \(5 bytes\) overruns/],
      [frame('020100000001000000010200'), /unknown delivery 2/],
      [frame('0203'), /shorter than its fields/],
    ];
    for (const [bytes, problem] of bad) {
      const decoded = decodeAll(binary, Buffer.concat([bytes, good]), 3);
      assert.equal(decoded.length, 2, `${problem}`);
      assert.match((decoded[0] as { problem: string }).problem, problem);
      assert.deepEqual(decoded[1], { message: { id: 1, result: { ok: true } } });
    }
  });
});

describe('JSON-lines framing', () => {
  it('round-trips every kind of message, a binary field as base64, split at every step size', () => {
    const bytes = encodeAll(jsonLines, messages);
    assert.equal(bytes.toString().split('\n').length, messages.length + 1);
    for (const step of [1, 2, 7, bytes.length]) {
      assert.deepEqual(
        decodeAll(jsonLines, bytes, step),
        messages.map((message) => ({ message: asBase64(message) })),
      );
    }
  });

  it('reports a line that is not a JSON object and reads the next one; refuses a line over its limit', () => {
    const decoded = decodeAll(jsonLines, Buffer.from('nope\n[1]\n{"id":1}\n'), 4);
    assert.match((decoded[0] as { problem: string }).problem, /not JSON: nope/);
    assert.match((decoded[1] as { problem: string }).problem, /not a JSON object/);
    assert.deepEqual(decoded[2], { message: { id: 1 } });
    assert.throws(() => jsonLines.decoder(10).push(Buffer.from('{"id": 1234567890')), FramingError);
  });
});

describe('negotiation', () => {
  it('JSON lines unless the first bytes are the binary hello', () => {
    const line = Buffer.from('{"id":1}\n');
    const json = negotiate(line);
    assert.ok('codec' in json && json.codec === jsonLines && !json.hello && json.rest.equals(line));
    assert.deepEqual(negotiate(Buffer.alloc(0)), { incomplete: true });
    assert.deepEqual(negotiate(Buffer.from(BINARY_HELLO.subarray(0, 3))), { incomplete: true });
    const frame = Buffer.concat(binary.encode([{ id: 1, method: 'status', params: {} }]));
    const chosen = negotiate(Buffer.concat([BINARY_HELLO, frame]));
    assert.ok('codec' in chosen && chosen.codec === binary && chosen.rest.equals(frame));
    assert.deepEqual(chosen.hello, BINARY_HELLO, 'version 2 is answered with its own hello');
  });

  it('version 1 (JSON headers only) is still spoken: its hello is answered with itself', () => {
    const v1 = Buffer.from([0x00, 0x43, 0x4c, 0x42, 0x01]);
    const chosen = negotiate(Buffer.concat([v1, Buffer.from([0, 0])]));
    assert.ok('codec' in chosen && chosen.codec === binaryV1 && chosen.rest.length === 2);
    assert.deepEqual(chosen.hello, Uint8Array.from(v1));
  });

  it('a hello of another version or garbage after NUL is refused, never taken for JSON lines', () => {
    const other = Buffer.from(BINARY_HELLO);
    other[4] = 3;
    assert.match((negotiate(other) as { problem: string }).problem, /unknown hello 0x00434c4203/);
    assert.match((negotiate(Buffer.from([0, 0x7b])) as { problem: string }).problem, /unknown hello/);
    assert.notEqual(BINARY_HELLO[0], '{'.charCodeAt(0));
  });
});

describe('a result already encoded (JsonText)', () => {
  const result = { entries: [{ path: 'a/é', size: 2, version: 3, mtime: 4 }] };
  for (const [name, codec] of [
    ['JSON lines', jsonLines],
    ['binary version 1', binaryV1],
    ['binary version 2', binary],
  ] as const) {
    it(`${name} sends the text as the result, the same bytes as the object encoded at once`, () => {
      const encoded = encodeAll(codec, [{ id: 9, result: new JsonText(JSON.stringify(result)) }]);
      assert.deepEqual(encoded, encodeAll(codec, [{ id: 9, result }]));
      assert.deepEqual(decodeAll(codec, encoded, 3), [{ message: { id: 9, result } }]);
    });
  }
});
