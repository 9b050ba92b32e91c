/**
 * The last step of `qdevice setup`: waiting (bounded) until every node's votequorum counts the device. It reads
 * what each node's votequorum counts — its `status`: the `Qdevice` flag and the device's votes in the total —
 * rather than the qdevice-net client's own view (QdeviceNetStatus, src/daemon/qdevice-contract.ts), since
 * votequorum, not the client, decides whether the vote is in. This node is asked over its admin socket, the
 * others (with a remote shell) by `corolink status --json` there.
 */
import type { StatusV1 } from '../../ipc/schema.ts';
import type { RemoteShell } from './remote-shell.ts';

const VOTE_POLL_MS = 250;
/** `corolink status` exits 2 when the node is not quorate, with its JSON printed all the same. */
const REMOTE_STATUS_SCRIPT = 'corolink status --json || [ $? -eq 2 ]';

/** One node whose view is checked. */
export interface VoteSource {
  name: string;
  status(): Promise<StatusV1>;
}

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

/** Node `name` at `host`, asked through the remote shell. */
export function remoteVoteSource(shell: RemoteShell, host: string, name: string): VoteSource {
  return {
    name,
    status: async () => JSON.parse((await shell.run(host, REMOTE_STATUS_SCRIPT)).toString()) as StatusV1,
  };
}

const describeQuorum = ({ quorum }: StatusV1) =>
  `flags ${quorum.flags.join(' ') || 'none'}, total votes ${quorum.total_votes}, expected ${quorum.expected_votes}, quorum ${quorum.quorum}`;

/** Polls every source until each counts the device's `votes`, or `waitMs` passed (0: does not wait). */
export async function waitForDeviceVote(sources: VoteSource[], votes: number, waitMs: number): Promise<VoteCheck> {
  if (waitMs === 0)
    return { counted: undefined, text: 'not waiting for the device vote (--wait 0): see `corolink status`\n' };
  const deadline = Date.now() + waitMs;
  const lines = new Map<string, string>();
  let pending = sources;
  for (;;) {
    const views = await Promise.all(
      pending.map((source) =>
        source.status().then(
          (status) => ({ source, status, counted: deviceVoteCounted(status, votes), why: describeQuorum(status) }),
          (error: Error) => ({ source, status: undefined, counted: false, why: error.message }),
        ),
      ),
    );
    for (const view of views) {
      lines.set(
        view.source.name,
        `${view.source.name}: ${view.counted ? 'Qdevice vote counted' : 'not yet'}: ${view.why}`,
      );
    }
    pending = views.filter((view) => !view.counted).map((view) => view.source);
    const report = () => sources.map((source) => `  ${lines.get(source.name)}\n`).join('');
    if (pending.length === 0) return { counted: true, text: report() };
    if (Date.now() >= deadline) {
      const names = pending.map((source) => source.name).join(', ');
      const text =
        `${report()}warning: the device's vote is not counted on ${names} after ${waitMs / 1000} s: ` +
        `check \`corolink qdevice status\` there and that it reaches qnetd (TCP 5403)\n`;
      return { counted: false, text };
    }
    await new Promise((resolve) => setTimeout(resolve, VOTE_POLL_MS));
  }
}
