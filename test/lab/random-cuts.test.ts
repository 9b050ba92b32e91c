// Random cable pulls on a bigger lab (issue 6, test 8): 5 hosts × 3 links, 60 s of random cuts and restores
// that always leave every pair of hosts a common working link; no configuration change, stream intact. A cable
// plugged back in is a working link only once the link is UP again (knet_pong_count pongs, up to about a second):
// until then it does not count as the pair's common link.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../src/sim/rng.ts';
import {
  assertNoConfigurationChange,
  assertStreamIntact,
  healthy,
  linkState,
  STREAM_INTERVAL_MS,
  skipReason,
  useLab,
} from './helpers.ts';

const NODES = 5;
const LINKS = 3;
const ALL = [1, 2, 3, 4, 5];
const CHAOS_MS = 60_000;
/** Pause between two random actions. */
const GAP_MS_MIN = 200;
const GAP_MS_MAX = 1_500;
const SENDERS = [1, 3, 5];
/** Longest wait for a plugged-back cable's link to be UP again to every host plugged in on that link. */
const LINK_UP_TIMEOUT_MS = 10_000;

describe('netns lab, 5 hosts × 3 links: random cuts and restores', { skip: skipReason }, () => {
  const suite = useLab({ nodes: NODES, links: LINKS });

  test('60 s of random cuts keeping a common link for every pair: no configuration change, stream intact', async (t) => {
    const seed = Number(process.env.LAB_SEED ?? Math.floor(Math.random() * 0x1_0000_0000));
    t.diagnostic(`seed ${seed} (rerun with LAB_SEED=${seed})`);
    const rng = new Rng(seed);
    const random = () => rng.next();
    /** up[n][l]: host n's cable on link l is plugged in. */
    const up = ALL.map(() => Array.from({ length: LINKS }, () => true));
    const pairsStillConnected = () =>
      ALL.every((a) => ALL.every((b) => a === b || up[a - 1]!.some((isUp, l) => isUp && up[b - 1]![l])));
    suite.stream.clearMemberships();
    suite.stream.start(SENDERS, STREAM_INTERVAL_MS);
    const end = Date.now() + CHAOS_MS;
    let actions = 0;
    while (Date.now() < end) {
      const n = 1 + Math.floor(random() * NODES);
      const l = Math.floor(random() * LINKS);
      const row = up[n - 1]!;
      if (row[l]) {
        row[l] = false;
        if (pairsStillConnected()) {
          await suite.lab.cut(n, l);
          actions++;
        } else row[l] = true;
      } else {
        await suite.lab.restore(n, l);
        actions++;
        // Host a sees link l UP to every host it shares the cable network with, where host n is one of the two.
        await suite.lab.waitFor(
          (s) =>
            ALL.every((b) => {
              const a = s.local_nodeid;
              const shared =
                a !== b && (a === n || b === n) && (a === n || up[a - 1]![l]) && (b === n || up[b - 1]![l]);
              return !shared || linkState(s, b, l) === 'UP';
            }),
          { timeoutMs: LINK_UP_TIMEOUT_MS },
        );
        row[l] = true;
      }
      await new Promise((r) => setTimeout(r, GAP_MS_MIN + random() * (GAP_MS_MAX - GAP_MS_MIN)));
    }
    await suite.lab.heal();
    await suite.lab.waitFor(healthy(NODES), { timeoutMs: 30_000 });
    t.diagnostic(`${actions} cuts and restores`);
    await assertNoConfigurationChange(suite.lab, suite.stream, suite.ringId);
    await assertStreamIntact(suite.stream, { senders: SENDERS, on: ALL });
    assert.ok(actions > 20);
  });
});
