/**
 * The last step of `qdevice setup`: waiting (bounded) until votequorum counts the device. It reads what the
 * cluster counts — this node's `status`: the `Qdevice` flag and the device's votes in the total — rather than the
 * qdevice-net client's own view (QdeviceNetStatus, src/daemon/qdevice-contract.ts), since votequorum, not the
 * client, decides whether the vote is in.
 */
import type { StatusV1 } from '../../ipc/schema.ts';

const VOTE_POLL_MS = 250;

/** What the wait found: `counted` undefined when it did not wait. */
export interface VoteCheck {
  counted: boolean | undefined;
  text: string;
}

/** True when `status` counts `votes` device votes on top of the members' (and sets the Qdevice flag). */
export function deviceVoteCounted(status: StatusV1, votes: number): boolean {
  const memberVotes = status.members.reduce((sum, m) => sum + m.votes, 0);
  return status.quorum.flags.includes('Qdevice') && status.quorum.total_votes >= memberVotes + votes;
}

/** Polls `client.status()` until the device's `votes` are counted or `waitMs` passed (0: does not wait). */
export async function waitForDeviceVote(
  client: { status(): Promise<StatusV1> },
  votes: number,
  waitMs: number,
): Promise<VoteCheck> {
  if (waitMs === 0)
    return { counted: undefined, text: 'not waiting for the device vote (--wait 0): see `corolink status`\n' };
  const deadline = Date.now() + waitMs;
  for (;;) {
    const status = await client.status();
    const { quorum } = status;
    if (deviceVoteCounted(status, votes)) {
      const text = `Qdevice vote counted: total votes ${quorum.total_votes}, expected ${quorum.expected_votes}, quorum ${quorum.quorum}\n`;
      return { counted: true, text };
    }
    if (Date.now() >= deadline) {
      const text =
        `warning: the device's vote is not counted after ${waitMs / 1000} s (flags: ${quorum.flags.join(' ') || 'none'}, ` +
        `total votes ${quorum.total_votes}): check \`corolink qdevice status\` on every node and that they reach qnetd (TCP 5403)\n`;
      return { counted: false, text };
    }
    await new Promise((resolve) => setTimeout(resolve, VOTE_POLL_MS));
  }
}
