/** An engine refusal as an admin-socket error: the answer of every handler that drives the engine. */
import { AdminError } from '../admin-socket.ts';
import { BACKPRESSURE_REFUSAL, EngineRefusal } from '../engine.ts';

// Made once, like the engine's refusal: the hot path of a sender retrying against a full queue.
const backpressureError = new AdminError('refused', BACKPRESSURE_REFUSAL.message);

/** Rethrows an engine refusal as the matching AdminError (`not_found`, `exists`, else `refused`); anything else as is. */
export function refusal(error: unknown): never {
  if (error === BACKPRESSURE_REFUSAL) throw backpressureError;
  if (error instanceof EngineRefusal) {
    const code = error.code === 'not_found' || error.code === 'exists' ? error.code : 'refused';
    throw new AdminError(code, error.message);
  }
  throw error;
}
