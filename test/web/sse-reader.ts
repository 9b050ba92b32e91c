// A minimal server-sent-events reader for the tests: collects `{event, data}` frames from /api/stream and waits
// for one that matches, with a bounded timeout.

export interface SseFrame {
  event: string;
  data: unknown;
}

export class SseReader {
  private readonly frames: SseFrame[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();

  private constructor() {}

  /** Opens the stream and resolves once the response headers arrived. */
  static async open(url: string): Promise<SseReader> {
    const reader = new SseReader();
    const response = await fetch(url, { signal: reader.abort.signal });
    if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
    void reader.pump(response.body);
    return reader;
  }

  /** Waits for a frame (seen before or after the call) for which `predicate` holds. */
  async waitFor(predicate: (frame: SseFrame) => boolean, timeoutMs: number): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.frames.map((f) => f.event).join(', ');
        throw new Error(`no matching stream event within ${timeoutMs} ms (saw: ${seen || 'nothing'})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          this.parse(buffered.slice(0, end));
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  private parse(block: string): void {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (data === '') return;
    this.frames.push({ event, data: JSON.parse(data) });
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }
}
