/**
 * Admits the HTTP server's requests to the event loop in slices: at most HTTP_REQUESTS_PER_SLICE_MAX of them, or
 * HTTP_SLICE_MS, per turn of the loop, all connections together; the others wait, in arrival order, for the next
 * turns, so the transport's timers run in between. A turn that reads the pipelined requests of many connections
 * at once (after the daemon waited for a core) otherwise handles them all before any timer: 1,000 GET /metrics in
 * one turn held the loop 210–265 ms under load, and the peers declared the node down (docs/daemon.md, "Threads").
 */
import { HTTP_REQUESTS_PER_SLICE_MAX, HTTP_SLICE_MS } from '../daemon/limits.ts';

export class RequestSlices {
  /** When the current slice started; undefined when none is open. */
  private sliceStartedMs: number | undefined;
  /** The open slice was started by a release (in a check phase), not by requests read in this turn. */
  private sliceReleased = false;
  private admitted = 0;
  private turnEndDue = false;
  private readonly waiting: (() => void)[] = [];

  /** Calls `proceed` now when this turn's slice has room and nobody waits, else in a later turn. */
  admit(proceed: () => void): void {
    if (this.waiting.length === 0 && this.roomInSlice(false)) {
      this.admitted++;
      proceed();
      return;
    }
    this.waiting.push(proceed);
  }

  private roomInSlice(released: boolean): boolean {
    if (this.sliceStartedMs === undefined) {
      this.sliceStartedMs = performance.now();
      this.sliceReleased = released;
      this.admitted = 0;
      this.scheduleTurnEnd();
      return true;
    }
    return this.admitted < HTTP_REQUESTS_PER_SLICE_MAX && performance.now() - this.sliceStartedMs < HTTP_SLICE_MS;
  }

  private scheduleTurnEnd(): void {
    if (this.turnEndDue) return;
    this.turnEndDue = true;
    setImmediate(this.turnEnd);
  }

  /** The check phase: the slice ends; waiting requests get the next turn's, or this one's if requests used none. */
  private readonly turnEnd = (): void => {
    this.turnEndDue = false;
    const usedByThisTurn = this.sliceStartedMs !== undefined && !this.sliceReleased;
    this.sliceStartedMs = undefined;
    if (this.waiting.length === 0) return;
    if (usedByThisTurn) {
      this.scheduleTurnEnd();
      return;
    }
    while (this.waiting.length > 0 && this.roomInSlice(true)) {
      this.admitted++;
      this.waiting.shift()?.();
    }
    this.scheduleTurnEnd();
  };
}
