import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterLinksText } from '../../src/cli/format/cluster-links.ts';
import { pathsDown } from '../../src/daemon/link-view.ts';
import {
  decodeLinkView,
  encodeLinkView,
  LINK_VIEW_SERVICE_ID,
  LinkViewEngine,
  type PathView,
} from '../../src/daemon/link-view-engine.ts';
import type { RegularChange } from '../../src/daemon/service-engine.ts';

const path = (nodeid: number, link: number, up: boolean, active = false): PathView => ({ nodeid, link, up, active });
const regular = (members: number[]): RegularChange => ({
  kind: 'regular',
  members,
  left: [],
  joined: members,
  failed: [],
  ringId: { rep: members[0]!, seq: 4 },
});

describe('the cluster-wide link view (service engine 6)', () => {
  it('round-trips a view; malformed payloads are named, counted, logged and change nothing', () => {
    const paths = [path(2, 0, true, true), path(2, 1, false), path(300, 7, true)];
    assert.deepEqual(decodeLinkView(encodeLinkView(paths)), paths);
    const engine = new LinkViewEngine();
    engine.confchg(regular([1, 2]));
    engine.deliver(2, encodeLinkView([path(1, 0, true)]));
    const good = encodeLinkView([path(1, 0, true)]);
    const bad: [Uint8Array, RegExp][] = [
      [good.subarray(0, 2), /shorter than the header/],
      [Buffer.from([9, 0, 0]), /format version 9/],
      [good.subarray(0, good.length - 1), /bytes for 1 paths/],
      [Buffer.from([1, 0, 1, 0, 0, 0, 1, 8, 1]), /link 8/],
      [Buffer.from([1, 0, 1, 0, 0, 0, 1, 0, 4]), /flags 4/],
    ];
    for (const [payload, reason] of bad) {
      assert.match(String(decodeLinkView(payload)), reason);
      const actions = engine.deliver(2, payload);
      assert.equal(actions[0]?.type, 'log');
    }
    assert.equal(engine.counters.malformed, bad.length);
    assert.deepEqual(engine.snapshot().views, [{ nodeid: 2, paths: [path(1, 0, true)] }], 'the last good view stays');
  });

  it('publishes in every sync and when the local view changes, not when it does not; drops views of leavers', () => {
    const engine = new LinkViewEngine();
    assert.equal(LINK_VIEW_SERVICE_ID, engine.id);
    const request = (paths: PathView[]) =>
      engine.request({ type: 'serviceRequest', service: engine.id, request: paths });
    assert.deepEqual(request([path(2, 0, true, true)]), [], 'nothing is sent before a configuration');
    engine.confchg(regular([1, 2, 3]));
    assert.equal(engine.syncInit(regular([1, 2, 3])).length, 1, 'the sync sends the view');
    assert.equal(request([path(2, 0, true, true)]).length, 0, 'unchanged: nothing sent');
    assert.equal(request([path(2, 0, false)]).length, 1, 'changed: sent');
    engine.deliver(3, encodeLinkView([path(1, 0, true)]));
    engine.deliver(2, encodeLinkView([path(3, 0, false)]));
    assert.deepEqual(
      engine.snapshot().views.map((v) => v.nodeid),
      [2, 3],
    );
    engine.confchg(regular([1, 2]));
    assert.deepEqual(engine.snapshot(), { members: [1, 2], views: [{ nodeid: 2, paths: [path(3, 0, false)] }] });
  });

  it('status --cluster lists every path down and marks the ones whose other end sees them up', () => {
    const view = (nodeid: number, paths: { nodeid: number; link: number; state: 'UP' | 'DOWN' }[]) => ({
      nodeid,
      name: `n${nodeid}`,
      paths: paths.map((p) => ({ ...p, name: `n${p.nodeid}`, active: false })),
    });
    const views = [
      view(1, [
        { nodeid: 2, link: 0, state: 'UP' },
        { nodeid: 3, link: 1, state: 'DOWN' },
      ]),
      view(2, [
        { nodeid: 1, link: 0, state: 'UP' },
        { nodeid: 3, link: 0, state: 'DOWN' },
      ]),
      view(3, [
        { nodeid: 2, link: 0, state: 'UP' },
        { nodeid: 1, link: 1, state: 'DOWN' },
      ]),
    ];
    const paths_down = pathsDown(views);
    assert.deepEqual(paths_down, [
      { from: 1, from_name: 'n1', to: 3, to_name: 'n3', link: 1, one_way: false },
      { from: 2, from_name: 'n2', to: 3, to_name: 'n3', link: 0, one_way: true },
      { from: 3, from_name: 'n3', to: 1, to_name: 'n1', link: 1, one_way: false },
    ]);
    const text = clusterLinksText({ version: 1, local_nodeid: 1, missing: [], views, paths_down });
    assert.match(
      text,
      /^Paths down:\n {2}n1 → n3 link1: DOWN\n {2}n2 → n3 link0: DOWN \(n3 → n2: UP\)\n {2}n3 → n1 link1: DOWN$/m,
    );
    assert.match(
      clusterLinksText({ version: 1, local_nodeid: 1, missing: [], views: [], paths_down: [] }),
      /^Every path is up\.$/m,
    );
  });
});
