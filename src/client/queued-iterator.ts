/** A bounded push → pull queue: the async iterator behind `client.watch(topic)`. */
import { EventOverflowError } from './errors.ts';

/**
 * Values pushed by an event source, read with `for await`. When more than `limit` values are unread the
 * iterator ends with an `EventOverflowError` (a slow reader is told, never silently skipped).
 */
export class QueuedIterator<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;
  private done = false;

  constructor(
    private readonly topic: string,
    private readonly limit: number,
    /** Called once when the iterator ends (by `return()`, an overflow or `end()`), to detach it from its source. */
    private readonly onEnd: () => void,
  ) {}

  /** Adds a value (ignored after the iterator ended). */
  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
      return;
    }
    if (this.queue.length >= this.limit) {
      this.fail(new EventOverflowError(this.topic, this.limit));
      return;
    }
    this.queue.push(value);
  }

  /** Ends the iterator with an error, after the values already queued. */
  fail(error: Error): void {
    if (this.done) return;
    this.failure = error;
    this.finish();
  }

  /** Ends the iterator normally, after the values already queued. */
  end(): void {
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = null;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
    if (this.waiting) {
      const { resolve, reject } = this.waiting;
      this.waiting = null;
      if (this.failure) {
        const failure = this.failure;
        this.failure = null;
        reject(failure);
      } else resolve({ value: undefined, done: true });
    }
  }
}
