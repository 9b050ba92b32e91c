// A steady stream of cfs writes through the lab's admin sockets, for the chaos tests: every acknowledged write is
// remembered, so that a test can check afterwards that each one is on every node.
import assert from 'node:assert/strict';
import { CorolinkClient } from '../../src/client/client.ts';
import type { NetnsLab } from '../../src/lab/netns-lab.ts';

export class CfsWriter {
  /** Acknowledged writes: path → content. */
  readonly acked = new Map<string, string>();
  /** Refused writes by node: the error messages. */
  readonly refused = new Map<number, string[]>();
  private readonly clients = new Map<number, CorolinkClient>();
  private loops: Promise<void>[] = [];
  private writing = false;
  private round = 0;

  private constructor(private readonly lab: NetnsLab) {}

  static async open(lab: NetnsLab, nodes: number[]): Promise<CfsWriter> {
    const writer = new CfsWriter(lab);
    for (const n of nodes)
      writer.clients.set(n, await CorolinkClient.connect({ socket: lab.socket(n), reconnect: false }));
    return writer;
  }

  /** Writes `<prefix>/n<node>-<i>` through each of `via`, one at a time per node, one per `intervalMs`. */
  start(via: number[], intervalMs: number, prefix: string): void {
    this.writing = true;
    const round = ++this.round;
    for (const node of via) {
      const client = this.client(node);
      this.loops.push(
        (async () => {
          for (let i = 0; this.writing; i++) {
            const path = `${prefix}/r${round}-n${node}-${i}`;
            const content = `${path} ${Date.now()}`;
            try {
              await client.cfsPut(path, content);
              this.acked.set(path, content);
            } catch (error) {
              this.refused.set(node, [...(this.refused.get(node) ?? []), (error as Error).message]);
            }
            await new Promise((r) => setTimeout(r, intervalMs));
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.writing = false;
    await Promise.all(this.loops.splice(0));
  }

  /** Acknowledged writes whose path starts with `prefix`. */
  ackedUnder(prefix: string): number {
    return [...this.acked.keys()].filter((p) => p.startsWith(prefix)).length;
  }

  /** Asserts every acknowledged write is on each of `on`, with its content. */
  async assertNoneLost(on: number[]): Promise<void> {
    assert.ok(this.acked.size > 0, 'writes were acknowledged');
    for (const n of on) {
      // A connection of its own: the node's daemon may have restarted since the writer connected.
      const client = await CorolinkClient.connect({ socket: this.lab.socket(n), reconnect: false });
      try {
        const present = new Set((await client.cfsLs('')).map((e) => e.path));
        const missing = [...this.acked.keys()].filter((p) => !present.has(p));
        assert.deepEqual(missing, [], `n${n} has every acknowledged write`);
        for (const [path, content] of this.acked)
          assert.equal(Buffer.from((await client.cfsGet(path)).data).toString(), content, `${path} on n${n}`);
      } finally {
        await client.close();
      }
    }
  }

  client(node: number): CorolinkClient {
    const client = this.clients.get(node);
    if (client === undefined) throw new Error(`the writer has no connection to n${node}`);
    return client;
  }

  async close(): Promise<void> {
    await this.stop();
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
