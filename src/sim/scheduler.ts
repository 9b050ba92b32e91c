/**
 * The simulator's virtual clock and event queue. Events run in time order, and events due at the same
 * time run in the order they were scheduled, so a run is a pure function of its seed.
 */

interface Entry {
  time: number;
  order: number;
  handle: number;
  fn: () => void;
  cancelled: boolean;
}

/** Guard against a run that schedules events forever at one instant … */
export const EVENTS_PER_INSTANT_MAX = 1_000_000;

/**
 * … raised to nodes³ for a large ring: with every datagram delayed alike, a Totem join round in which every node
 * answers each other node's join with its own lands n × (n − 1) × (n − 1) deliveries on one instant (measured at 128
 * nodes × 3 links: 1,024,128 datagrams sent at 125.3 ms, all delivered at 125.4 ms; that instant then ends).
 */
export function eventsPerInstantMax(nodes: number): number {
  return Math.max(EVENTS_PER_INSTANT_MAX, nodes ** 3);
}

export class Scheduler {
  /** @param eventsPerInstantMax events at one virtual instant that are taken for a livelock */
  constructor(private readonly eventsPerInstantMax = EVENTS_PER_INSTANT_MAX) {}

  private current = 0;
  private nextOrder = 0;
  private readonly heap: Entry[] = [];
  /** Scheduled, not yet run or discarded events by handle, so cancel() never keeps stale handles. */
  private readonly live = new Map<number, Entry>();

  /** Virtual milliseconds since the start of the run. */
  now(): number {
    return this.current;
  }

  /** Runs `fn` at virtual time `time` (a time in the past runs at the current instant). Returns a handle. */
  at(time: number, fn: () => void): number {
    const handle = this.nextOrder++;
    const entry = { time: Math.max(time, this.current), order: handle, handle, fn, cancelled: false };
    this.live.set(handle, entry);
    this.push(entry);
    return handle;
  }

  /** Runs `fn` after `delayMs` virtual milliseconds. */
  after(delayMs: number, fn: () => void): number {
    return this.at(this.current + Math.max(0, delayMs), fn);
  }

  /** Cancels a scheduled event; cancelling one that already ran or was cancelled is harmless. */
  cancel(handle: number): void {
    const entry = this.live.get(handle);
    if (entry) entry.cancelled = true;
    this.live.delete(handle);
  }

  /** Runs the next event. Returns false when nothing is scheduled. */
  step(): boolean {
    const entry = this.peekLive();
    if (!entry) return false;
    this.pop();
    this.live.delete(entry.handle);
    this.current = entry.time;
    entry.fn();
    return true;
  }

  /** Runs every event due at or before `time`, then sets the clock to `time`. */
  runUntil(time: number): void {
    let sameInstant = 0;
    let lastTime = -1;
    for (;;) {
      const top = this.peekLive();
      if (!top || top.time > time) break;
      if (top.time === lastTime) {
        if (++sameInstant > this.eventsPerInstantMax) {
          throw new Error(`Scheduler: more than ${this.eventsPerInstantMax} events at t=${top.time} (livelock?)`);
        }
      } else {
        sameInstant = 0;
        lastTime = top.time;
      }
      this.step();
    }
    if (time > this.current) this.current = time;
  }

  /** Runs for `ms` virtual milliseconds from now. */
  runFor(ms: number): void {
    this.runUntil(this.current + ms);
  }

  /** Number of scheduled events that have not run and were not cancelled. */
  pending(): number {
    return this.live.size;
  }

  /** The next event that was not cancelled (cancelled ones at the top are discarded). */
  private peekLive(): Entry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top?.cancelled) return top;
      this.pop();
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent] as Entry)) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (!top || !last || heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right] as Entry, heap[left] as Entry) ? right : left;
      if (!before(heap[child] as Entry, last)) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}
