// corolink dashboard: loads the daemon's JSON API once, then follows the live stream (/api/stream, server-sent
// events). Plain ES module, no dependencies; every state is shown as text as well as colour.

/** The history range shown first (the daemon's `/api/history` default); the others are picked with #range. */
const RANGE_DEFAULT = '5m';
const RANGE_TEXT = { '5m': '5 min', '1h': '1 h', '24h': '24 h' };
/** The live stream's sample interval: a range at this step follows the stream, a coarser one is polled. */
const LIVE_SAMPLE_MS = 1000;
const TIMELINE_KEPT = 200;
const SPARK_WIDTH = 180;
const SPARK_HEIGHT = 28;
const SVG_NS = 'http://www.w3.org/2000/svg';
/** How often the cluster-wide link view is read (/api/cluster-links). */
const CLUSTER_LINKS_POLL_MS = 1000;
/** How often the HA panel reads /api/ha (HA events are not in the live stream). */
const HA_POLL_MS = 2000;
/** Service states shown as healthy / as failed; the others are transitions. */
const HA_GOOD = new Set(['started']);
const HA_BAD = new Set(['error', 'fence', 'recovery']);

const state = {
  status: null,
  /** "nodeid:link" → { state, latency_ms, reason } from the peers' view. */
  cells: new Map(),
  /** "nodeid:link" → [{ time, up, latency_ms }] of the chosen range */
  history: new Map(),
  /** The chosen range, its step (`interval_ms`) and its rows per sparkline (`range_ms / interval_ms`). */
  range: RANGE_DEFAULT,
  stepMs: 1000,
  slots: 300,
  events: [],
  /** "nodeid:link" → true on the links that carry the traffic to that peer (this node's row of the cluster view). */
  active: new Map(),
};

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

const key = (nodeid, link) => `${nodeid}:${link}`;
/** `2026-12-03 19:55:07` in the browser's time zone: the timeline spans days when the page stays open. */
const timeText = (ms) => {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${d.toLocaleTimeString([], { hour12: false })}`;
};
const latencyText = (ms) => (ms === null || ms === undefined ? 'no latency yet' : `${ms.toFixed(3)} ms`);

function pushSample(nodeid, link, sample) {
  const k = key(nodeid, link);
  const list = state.history.get(k) ?? [];
  list.push(sample);
  if (list.length > state.slots) list.splice(0, list.length - state.slots);
  state.history.set(k, list);
}

/** An SVG sparkline of the latency samples; down samples are red ticks along the bottom. */
function sparkline(samples) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('width', SPARK_WIDTH);
  svg.setAttribute('height', SPARK_HEIGHT);
  svg.setAttribute('role', 'img');
  svg.dataset.range = state.range;
  const latencies = samples.filter((s) => s.up && s.latency_ms !== null).map((s) => s.latency_ms);
  const peak = Math.max(0.001, ...latencies);
  // Scaled to 1.5 × the 95th percentile, not the peak: one start-up spike must not flatten the other 299
  // samples. Samples above the scale are drawn at the top edge, and the peak is named in the label.
  const sorted = [...latencies].sort((a, b) => a - b);
  const p95 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] : 0.001;
  const max = Math.min(peak, Math.max(0.001, p95 * 1.5));
  svg.setAttribute(
    'aria-label',
    `latency over the last ${RANGE_TEXT[state.range]} (${samples.length} samples), scale 0–${max.toFixed(3)} ms, peak ${peak.toFixed(3)} ms`,
  );
  // The axis: a baseline at 0 and the scale's top value written at the top left.
  const axis = document.createElementNS(SVG_NS, 'line');
  for (const [name, value] of [
    ['x1', 0],
    ['y1', SPARK_HEIGHT - 0.5],
    ['x2', SPARK_WIDTH],
    ['y2', SPARK_HEIGHT - 0.5],
  ]) {
    axis.setAttribute(name, value);
  }
  axis.setAttribute('stroke', '#9e9e9e');
  svg.append(axis);
  const label = document.createElementNS(SVG_NS, 'text');
  label.setAttribute('x', 1);
  label.setAttribute('y', 8);
  label.setAttribute('font-size', 8);
  label.setAttribute('fill', '#616161');
  label.setAttribute('class', 'scale');
  label.textContent = `${max.toFixed(max < 1 ? 2 : 0)} ms${peak > max ? ` (peak ${peak.toFixed(1)})` : ''}`;
  svg.append(label);
  const step = SPARK_WIDTH / state.slots;
  const offset = SPARK_WIDTH - samples.length * step;
  let points = [];
  const flush = () => {
    if (points.length > 1) {
      const line = document.createElementNS(SVG_NS, 'polyline');
      line.setAttribute('points', points.join(' '));
      line.setAttribute('fill', 'none');
      line.setAttribute('stroke', 'currentColor');
      line.setAttribute('stroke-width', '1.5');
      svg.append(line);
    }
    points = [];
  };
  samples.forEach((sample, i) => {
    const x = offset + i * step;
    if (sample.up && sample.latency_ms !== null) {
      const y = SPARK_HEIGHT - 3 - (Math.min(sample.latency_ms, max) / max) * (SPARK_HEIGHT - 6);
      points.push(`${x.toFixed(1)},${y.toFixed(1)}`);
    } else {
      flush();
      if (!sample.up) {
        const tick = document.createElementNS(SVG_NS, 'rect');
        tick.setAttribute('x', x.toFixed(1));
        tick.setAttribute('y', SPARK_HEIGHT - 4);
        tick.setAttribute('width', Math.max(1, step).toFixed(1));
        tick.setAttribute('height', 4);
        tick.setAttribute('fill', '#c62828');
        svg.append(tick);
      }
    }
  });
  flush();
  return svg;
}

function linkNumbers() {
  const numbers = new Set();
  for (const member of state.status?.members ?? []) for (const l of member.links) numbers.add(l.link);
  for (const k of state.cells.keys()) numbers.add(Number(k.split(':')[1]));
  return [...numbers].sort((a, b) => a - b);
}

function cellFor(node, link) {
  const local = node.nodeid === state.status.local_nodeid;
  const localLink = local
    ? state.status.members.find((m) => m.nodeid === node.nodeid)?.links.find((l) => l.link === link)
    : undefined;
  const cell = local
    ? { state: localLink?.state ?? 'DOWN', latency_ms: null, reason: localLink?.reason ?? null }
    : (state.cells.get(key(node.nodeid, link)) ?? { state: 'DOWN', latency_ms: null, reason: 'no data' });
  const active = !local && state.active.get(key(node.nodeid, link)) === true;
  const td = el('td', {
    class: 'cell',
    'data-cell': key(node.nodeid, link),
    'data-state': cell.state,
    'data-active': String(active),
  });
  td.append(
    el('div', { class: 'state' }, `${cell.state === 'UP' ? '✔ UP' : '✖ DOWN'}${active ? ' ⇄ carries traffic' : ''}`),
  );
  const detail = local
    ? `local link${cell.reason ? ` (${cell.reason})` : ' (enabled)'}`
    : cell.state === 'UP'
      ? latencyText(cell.latency_ms)
      : (cell.reason ?? 'down');
  td.append(el('div', { class: 'detail' }, detail));
  if (!local) td.append(sparkline(state.history.get(key(node.nodeid, link)) ?? []));
  return td;
}

function renderMatrix() {
  if (!state.status) return;
  const links = linkNumbers();
  const head = $('matrix').tHead;
  head.replaceChildren(el('tr', {}, el('th', {}, 'Node'), ...links.map((l) => el('th', { scope: 'col' }, `link${l}`))));
  const members = new Set(state.status.members.map((m) => m.nodeid));
  const rows = state.status.nodes.map((node) => {
    const local = node.nodeid === state.status.local_nodeid;
    const label = `${node.name} (id ${node.nodeid})${local ? ' · this node' : ''}${members.has(node.nodeid) ? '' : ' · NOT A MEMBER'}`;
    return el(
      'tr',
      { 'data-node': node.nodeid },
      el('th', { scope: 'row' }, label),
      ...links.map((l) => cellFor(node, l)),
    );
  });
  $('matrix').tBodies[0].replaceChildren(...rows);
}

function renderQuorum() {
  const q = state.status?.quorum;
  if (!q) return;
  $('quorum').dataset.quorate = String(q.quorate);
  $('quorate').textContent = q.quorate ? '✔ Quorate' : '✖ NOT quorate (activity blocked)';
  $('total-votes').textContent = q.total_votes;
  $('expected-votes').textContent = q.expected_votes;
  $('quorum-votes').textContent = q.quorum;
  $('quorum-flags').textContent = q.flags.length ? q.flags.join(' ') : '(none)';
}

function renderHeader() {
  const s = state.status;
  if (!s) return;
  $('cluster-name').textContent = s.cluster.name;
  const me = s.nodes.find((n) => n.nodeid === s.local_nodeid);
  $('local-node').textContent = `${me?.name ?? '?'} (id ${s.local_nodeid})`;
  $('ring-id').textContent = s.ring_id;
  $('config-version').textContent = s.cluster.config_version;
  $('members').textContent = s.members.map((m) => `${m.name} (id ${m.nodeid})`).join(', ');
}

/** One timeline line: [severity, tag, text]. */
function describe(event) {
  const d = event.data;
  switch (event.type) {
    case 'link':
      return [
        d.state === 'UP' ? 'good' : 'bad',
        `link ${d.state}`,
        `node ${d.nodeid} link${d.link} is ${d.state.toLowerCase()}${d.reason ? ` (${d.reason})` : ''}`,
      ];
    case 'membership':
      return [
        d.left.length ? 'bad' : 'good',
        'membership',
        `ring ${d.ring_id}: members ${d.members.join(', ')}` +
          (d.joined.length ? `; joined ${d.joined.join(', ')}` : '') +
          (d.left.length ? `; left ${d.left.join(', ')}` : ''),
      ];
    case 'quorum':
      return [
        d.quorate ? 'good' : 'bad',
        d.quorate ? 'quorate' : 'NOT quorate',
        `votes ${d.total_votes}/${d.expected_votes}, quorum ${d.quorum}`,
      ];
    case 'config':
      return ['info', 'config', `config_version ${d.previous} → ${d.config_version}`];
    default:
      return ['info', event.type, JSON.stringify(d)];
  }
}

function eventItem(event) {
  const [severity, tag, text] = describe(event);
  return el(
    'li',
    { 'data-severity': severity, 'data-type': event.type },
    el('time', { datetime: new Date(event.time).toISOString() }, timeText(event.time)),
    el('span', { class: 'tag' }, tag),
    text,
  );
}

function renderTimeline() {
  const newest = state.events.slice(-TIMELINE_KEPT).reverse();
  $('timeline').replaceChildren(...newest.map(eventItem));
  $('membership-history').replaceChildren(...newest.filter((e) => e.type === 'membership').map(eventItem));
}

/** One enable/disable button per local link; the token is kept for this browser tab only. */
function renderAdmin() {
  const me = state.status?.members.find((m) => m.nodeid === state.status.local_nodeid);
  const buttons = (me?.links ?? []).map((l) => {
    const action = l.state === 'UP' ? 'disable' : 'enable';
    const button = el(
      'button',
      { type: 'button', 'data-link': l.link, 'data-action': action },
      `${action} link${l.link}`,
    );
    button.addEventListener('click', () =>
      changeLink(l.link, action).catch((error) => {
        $('admin-result').textContent = `request failed: ${error.message}`;
      }),
    );
    return button;
  });
  $('admin-buttons').replaceChildren(...buttons);
}

async function changeLink(link, action) {
  const token = $('admin-token').value.trim();
  sessionStorage.setItem('corolink-token', token);
  const response = await fetch(`/api/links/${link}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await response.json().catch(() => ({}));
  $('admin-result').textContent = response.ok
    ? `link${link} ${action}d on this node`
    : `refused (HTTP ${response.status}): ${body.error?.message ?? 'unknown error'}`;
  await refreshStatus();
}

const haSeverity = (serviceState) => (HA_GOOD.has(serviceState) ? 'good' : HA_BAD.has(serviceState) ? 'bad' : 'info');

/** The HA panel from an `/api/ha` document: services with node and state, the manager, each node's LRM. */
function renderHa(ha) {
  const name = (nodeid) => ha.nodes.find((n) => n.nodeid === nodeid)?.name || (nodeid === null ? '—' : String(nodeid));
  $('ha-manager').textContent = ha.manager
    ? `${ha.manager.name || ha.manager.nodeid} (id ${ha.manager.nodeid})`
    : 'none elected';
  $('ha-quorum').textContent = ha.quorate ? 'quorum OK' : 'NO quorum on this node';
  $('ha-services').tBodies[0].replaceChildren(
    ...ha.services.map((s) =>
      el(
        'tr',
        { 'data-sid': s.sid, 'data-severity': haSeverity(s.state) },
        el('th', { scope: 'row' }, s.sid),
        el('td', {}, name(s.nodeid)),
        el('td', { class: 'ha-state' }, s.state),
        el('td', {}, s.requested),
        el('td', {}, s.message ?? ''),
      ),
    ),
  );
  $('ha-nodes').tBodies[0].replaceChildren(
    ...[...ha.nodes]
      .sort((a, b) => a.nodeid - b.nodeid)
      .map((n) =>
        el(
          'tr',
          {
            'data-node': n.nodeid,
            'data-severity': n.state === 'online' ? 'good' : n.state === 'maintenance' ? 'info' : 'bad',
          },
          el('th', { scope: 'row' }, `${n.name || n.nodeid} (id ${n.nodeid})`),
          el('td', { class: 'ha-state' }, n.state),
          el('td', {}, n.lrm),
        ),
      ),
  );
  $('ha').dataset.enabled = 'true';
  $('ha').hidden = false;
}

/** The cluster-wide matrix: every member's view of every other member, one line per link, ⇄ on the active one. */
function renderClusterLinks(view) {
  const nodes = view.views.map((v) => ({ nodeid: v.nodeid, name: v.name }));
  $('cluster-matrix').tHead.replaceChildren(
    el('tr', {}, el('th', {}, 'From \\ To'), ...nodes.map((n) => el('th', { scope: 'col' }, n.name))),
  );
  const rows = view.views.map((from) =>
    el(
      'tr',
      { 'data-from': from.nodeid },
      el('th', { scope: 'row' }, `${from.name}${from.nodeid === view.local_nodeid ? ' · this node' : ''}`),
      ...nodes.map((to) => {
        if (to.nodeid === from.nodeid) return el('td', { class: 'path-cell self' }, '—');
        const paths = from.paths.filter((p) => p.nodeid === to.nodeid).sort((a, b) => a.link - b.link);
        return el(
          'td',
          { class: 'path-cell', 'data-path': `${from.nodeid}>${to.nodeid}` },
          ...paths.map((p) =>
            el(
              'div',
              { class: 'path', 'data-link': p.link, 'data-state': p.state, 'data-active': String(p.active) },
              `link${p.link} ${p.state === 'UP' ? '✔ UP' : '✖ DOWN'}${p.active ? ' ⇄' : ''}`,
            ),
          ),
        );
      }),
    ),
  );
  $('cluster-matrix').tBodies[0].replaceChildren(...rows);
  // paths_down and its one-way marks are computed by the daemon (src/daemon/link-view.ts), as for the CLI.
  const down = view.paths_down.map((p) =>
    el(
      'li',
      { 'data-severity': 'bad', 'data-one-way': String(p.one_way) },
      `${p.from_name} → ${p.to_name} link${p.link} is DOWN${p.one_way ? ` (${p.to_name} → ${p.from_name} is UP: one direction only)` : ''}`,
    ),
  );
  $('down-paths').replaceChildren(
    ...(down.length ? down : [el('li', { 'data-severity': 'good' }, 'every path is up')]),
  );
  const mine = view.views.find((v) => v.nodeid === view.local_nodeid);
  state.active = new Map((mine?.paths ?? []).map((p) => [key(p.nodeid, p.link), p.active]));
  renderMatrix();
}

/** Reads /api/cluster-links every CLUSTER_LINKS_POLL_MS. */
async function pollClusterLinks() {
  try {
    renderClusterLinks(await getJson('/api/cluster-links'));
  } catch {
    // The daemon is unreachable for a moment: the next poll tries again.
  }
  setTimeout(pollClusterLinks, CLUSTER_LINKS_POLL_MS);
}

/** Reads /api/ha every HA_POLL_MS; a node without HA answers 404 and the panel stays hidden for good. */
async function pollHa() {
  try {
    const response = await fetch('/api/ha', { cache: 'no-store' });
    if (response.status === 404) {
      $('ha').dataset.enabled = 'false';
      $('ha').hidden = true;
      return;
    }
    if (response.ok) renderHa(await response.json());
  } catch {
    // The daemon is unreachable for a moment: the next poll tries again.
  }
  setTimeout(pollHa, HA_POLL_MS);
}

function render() {
  renderHeader();
  renderQuorum();
  renderMatrix();
  renderAdmin();
}

async function refreshStatus() {
  state.status = await getJson('/api/status');
  render();
}

/** Loads everything from scratch (first load and after the stream reconnects). */
async function loadAll() {
  const [status, links, history, events] = await Promise.all([
    getJson('/api/status'),
    getJson('/api/links'),
    getJson(`/api/history?range=${state.range}`),
    getJson('/api/events'),
  ]);
  state.status = status;
  state.cells.clear();
  for (const p of links.peers) {
    state.cells.set(key(p.nodeid, p.link), { state: p.state, latency_ms: p.latency_ms.avg, reason: p.reason });
  }
  setHistory(history);
  state.events = events.events;
  render();
  renderTimeline();
}

/** Takes an `/api/history` answer as the sparklines' data. */
function setHistory(history) {
  state.range = history.range;
  state.stepMs = history.interval_ms;
  state.slots = Math.round(history.range_ms / history.interval_ms);
  state.history.clear();
  for (const row of history.rows) {
    for (const s of row.samples) pushSample(s.nodeid, s.link, { time: row.time, up: s.up, latency_ms: s.latency_ms });
  }
  for (const button of document.querySelectorAll('#range button')) {
    button.setAttribute('aria-pressed', String(button.dataset.range === state.range));
  }
}

/** Shows another range: its rows at its resolution. */
async function chooseRange(range) {
  setHistory(await getJson(`/api/history?range=${range}`));
  renderMatrix();
}

/** A coarse range is read again once a step (the live stream's samples are one per second: the 5 min range). */
async function pollCoarseHistory() {
  if (state.stepMs > LIVE_SAMPLE_MS) {
    try {
      await chooseRange(state.range);
    } catch {
      // The daemon is unreachable for a moment: the next poll tries again.
    }
  }
  setTimeout(pollCoarseHistory, Math.max(state.stepMs, LIVE_SAMPLE_MS));
}

function onSample(row) {
  for (const s of row.samples) {
    if (state.stepMs === LIVE_SAMPLE_MS) {
      pushSample(s.nodeid, s.link, { time: row.time, up: s.up, latency_ms: s.latency_ms });
    }
    const cell = state.cells.get(key(s.nodeid, s.link));
    const reason = s.up ? null : (cell?.reason ?? 'down');
    state.cells.set(key(s.nodeid, s.link), { state: s.up ? 'UP' : 'DOWN', latency_ms: s.latency_ms, reason });
  }
  renderMatrix();
}

function onEvent(event) {
  state.events.push(event);
  if (state.events.length > TIMELINE_KEPT) state.events.splice(0, state.events.length - TIMELINE_KEPT);
  if (event.type === 'link') {
    const d = event.data;
    const previous = state.cells.get(key(d.nodeid, d.link));
    state.cells.set(key(d.nodeid, d.link), {
      state: d.state,
      latency_ms: previous?.latency_ms ?? null,
      reason: d.reason,
    });
    renderMatrix();
  } else {
    refreshStatus().catch(() => {});
  }
  renderTimeline();
}

function connect() {
  const feed = $('feed');
  const source = new EventSource('/api/stream');
  let opened = false;
  source.addEventListener('open', () => {
    feed.dataset.state = 'live';
    feed.textContent = '● live';
    if (opened) loadAll().catch(() => {});
    opened = true;
  });
  source.addEventListener('error', () => {
    feed.dataset.state = 'reconnecting';
    feed.textContent = '✖ reconnecting…';
  });
  source.addEventListener('sample', (e) => onSample(JSON.parse(e.data)));
  for (const type of ['link', 'membership', 'quorum', 'config']) {
    source.addEventListener(type, (e) => onEvent(JSON.parse(e.data)));
  }
}

$('admin-token').value = sessionStorage.getItem('corolink-token') ?? '';
$('admin-form').addEventListener('submit', (e) => e.preventDefault());
for (const button of document.querySelectorAll('#range button')) {
  button.addEventListener('click', () =>
    chooseRange(button.dataset.range).catch((error) => {
      $('feed').textContent = `cannot load the history: ${error.message}`;
    }),
  );
}
loadAll()
  .catch((error) => {
    $('feed').textContent = `cannot load: ${error.message}`;
  })
  .finally(connect);
void pollHa();
void pollClusterLinks();
setTimeout(pollCoarseHistory, LIVE_SAMPLE_MS);
