/**
 * Resolves when stdin reaches its end: the parent holds the write end of a pipe and never writes, so the kernel
 * closes it when the parent dies, even by SIGKILL (Node has no prctl(PR_SET_PDEATHSIG)).
 */
export function stdinClosed(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('data', () => {});
    process.stdin.once('end', resolve);
    process.stdin.once('error', () => resolve());
    // Watching stdin must not keep a stopped process alive.
    (process.stdin as { unref?: () => void }).unref?.();
  });
}
