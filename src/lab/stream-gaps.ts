/**
 * Whether a hole in one client's CPG stream is allowed by virtual synchrony. A message its sender delivered may be
 * missing at another member only where that member's client saw the sender leave the group (a confchg with it in
 * `left`): a node cut off from the ring delivers its own last messages in the old view (EVS's transitional
 * configuration), the others never got them, and each side then sees the other leave. A message missing between two
 * deliveries with no such leave between them is an agreed message lost.
 */

/** A process in a group, as the client reports it. */
export interface StreamAddress {
  nodeid: number;
  pid: number;
}

/** The sender of a stream: its process, or (pid left out) any process of its node. */
export type StreamSender = { nodeid: number; pid?: number };

/** What one client saw of a group, in the order it saw it. */
export type StreamEntry = { message: string } | { left: StreamAddress[] };

/** A run of consecutive messages missing at the receiver. */
export interface StreamGap {
  missing: string[];
  /** The receiver's client saw the sender leave between the messages around the run: allowed by virtual synchrony. */
  senderLeft: boolean;
}

/**
 * The runs of `sent` (one sender's messages in their agreed order, e.g. as the sender got them back) missing from
 * `seen` (the receiver's messages and confchgs in arrival order), each with whether the receiver saw `sender` leave
 * between the delivered messages around it.
 */
export function streamGaps(sent: readonly string[], seen: readonly StreamEntry[], sender: StreamSender): StreamGap[] {
  const position = new Map<string, number>();
  for (const [index, entry] of seen.entries()) if ('message' in entry) position.set(entry.message, index);
  const leaves = seen.flatMap((entry, index) =>
    'left' in entry && entry.left.some((a) => a.nodeid === sender.nodeid && (sender.pid ?? a.pid) === a.pid)
      ? [index]
      : [],
  );
  const gaps: StreamGap[] = [];
  let before = -1; // where the receiver delivered the last message of `sent` before the current run
  let run: string[] = [];
  const closeRun = (after: number) => {
    if (run.length === 0) return;
    gaps.push({ missing: run, senderLeft: leaves.some((index) => index > before && index < after) });
    run = [];
  };
  for (const message of sent) {
    const at = position.get(message);
    if (at === undefined) {
      run.push(message);
      continue;
    }
    closeRun(at);
    before = at;
  }
  closeRun(seen.length);
  return gaps;
}
