/**
 * Drives a pure protocol core with the real clock: every event goes through `step(event, now)`, the actions go
 * to `dispatch`, and one timer is re-armed at the core's `nextDeadline()` (docs/contracts.md). The simulator
 * does the same with its virtual clock.
 */
import { performance } from 'node:perf_hooks';
import { AssertionError } from '../base/assert.ts';
import { DeadlineTimer } from '../base/timer-delay.ts';

/** The shape every protocol core has. */
export interface PureCore<Event, Action> {
  step(event: Event, now: number): Action[];
  nextDeadline(): number;
  /**
   * Optional: `step` in pieces, its urgent actions first (ServiceStack: the token forward before the visit's
   * deliveries); `resume` gives the next piece, null at the end of the step.
   */
  begin?(event: Event, now: number): Action[];
  resume?(): Action[] | null;
}

export class CoreDriver<Event extends { type: string }, Action> {
  private readonly timer: DeadlineTimer;
  private stepping = false;
  private readonly queue: Event[] = [];
  private closed = false;

  constructor(
    readonly core: PureCore<Event, Action>,
    private readonly dispatch: (actions: Action[]) => void,
    private readonly tickEvent: Event,
    private readonly clock: () => number = () => performance.now(),
    /** Called with a failed assertion of the core before it propagates (the daemon stops there: ./fail-stop.ts). */
    private readonly onAssertion?: (error: AssertionError) => void,
  ) {
    this.timer = new DeadlineTimer(() => this.feed(this.tickEvent), clock);
  }

  /**
   * Feeds one event. Events fed while the core is stepping (from inside `dispatch`) are queued and run right
   * after, so each step runs to completion before the next begins.
   */
  feed(event: Event): void {
    if (this.closed) return;
    this.queue.push(event);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.run(next);
    } catch (error) {
      // The caller (a request handler) may catch errors; a broken invariant must not be caught with them.
      if (error instanceof AssertionError) this.onAssertion?.(error);
      throw error;
    } finally {
      this.stepping = false;
    }
    this.arm();
  }

  /**
   * One step. A core that steps in pieces has each piece dispatched before the next is computed, and is resumed to
   * the end of its step even when dispatching a piece throws (the first error is rethrown after): an unfinished
   * step would leave messages Totem delivered undelivered to the engines.
   */
  private run(event: Event): void {
    const { core } = this;
    if (core.begin === undefined || core.resume === undefined) {
      this.dispatch(core.step(event, this.clock()));
      return;
    }
    const failures: unknown[] = [];
    for (let piece: Action[] | null = core.begin(event, this.clock()); piece !== null; piece = core.resume()) {
      try {
        this.dispatch(piece);
      } catch (error) {
        if (error instanceof AssertionError) throw error; // a broken invariant stops here (see `feed`)
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  /** Stops the timer; later events are ignored. */
  close(): void {
    this.closed = true;
    this.timer.clear();
  }

  /** Keeps the timer at the core's deadline (DeadlineTimer's policy, as the UDP driver). */
  private arm(): void {
    this.timer.set(this.core.nextDeadline());
  }
}
