// The tests' one bounded poll: wait for a state by looking at it again, never by sleeping and hoping.

/**
 * Resolves with the first value of `probe()` that is neither undefined nor false, looking every `pollMs`; rejects
 * naming `what` after `timeoutMs`.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  pollMs = 5,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
