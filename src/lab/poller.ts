/**
 * The service network's client: requests a URL every `intervalMs` (each on a new connection, each bounded by its
 * own timeout, so a hung request never delays the next) and records when, whether it was answered and by which
 * node (the body of `corolink lab http-echo`'s answer). It runs inside the lab's client namespace: `lab poll`
 * starts itself there with `--here`.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { BIN } from './daemon-process.ts';

export interface PollOptions {
  intervalMs: number;
  forMs: number;
  /** Time limit of one request (default 1000 ms). */
  requestTimeoutMs?: number;
}

export interface PollSample {
  /** When the request started (ms since the epoch). */
  at: number;
  /** How long it took (ms). */
  ms: number;
  /** The node that answered (the answer's body), null when it failed. */
  node: string | null;
  error?: string;
}

export const DEFAULT_POLL_REQUEST_TIMEOUT_MS = 1000;
/** Largest answer read: a node name. */
const ANSWER_BYTES_MAX = 256;
/** Extra time the poller child is given beyond its polling time. */
const POLL_CHILD_SLACK_MS = 30_000;

/** One request: who answered, or why none did. */
function requestOnce(url: string, timeoutMs: number): Promise<PollSample> {
  const at = Date.now();
  const start = performance.now();
  const done = (node: string | null, error?: string): PollSample => ({
    at,
    ms: Math.round((performance.now() - start) * 10) / 10,
    node,
    ...(error ? { error } : {}),
  });
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < ANSWER_BYTES_MAX) body += chunk;
      });
      res.on('end', () =>
        resolve(
          res.statusCode === 200 ? done(body.trim().slice(0, ANSWER_BYTES_MAX)) : done(null, `HTTP ${res.statusCode}`),
        ),
      );
      res.on('error', (error) => resolve(done(null, error.message)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve(done(null, error.message)));
    req.end();
  });
}

/** Polls `url` from this process's network namespace; resolves with every sample, in start order. */
export async function pollUrl(url: string, options: PollOptions): Promise<PollSample[]> {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_POLL_REQUEST_TIMEOUT_MS;
  const pending: Promise<PollSample>[] = [];
  const start = performance.now();
  // Paced from the start, so a slow event loop does not stretch the interval.
  for (let i = 0; i * options.intervalMs < options.forMs; i++) {
    const wait = start + i * options.intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(requestOnce(url, timeoutMs));
  }
  return Promise.all(pending);
}

/** Polls `url` from inside network namespace `ns` (a child `corolink lab poll --here`). */
export function pollInNamespace(ns: string, url: string, options: PollOptions): Promise<PollSample[]> {
  const args = ['netns', 'exec', ns, process.execPath, BIN, 'lab', 'poll', url, '--here', '--json'];
  args.push('--interval', String(options.intervalMs), '--for', `${options.forMs / 1000}`);
  if (options.requestTimeoutMs) args.push('--request-timeout', String(options.requestTimeoutMs));
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.forMs + POLL_CHILD_SLACK_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`lab poll in ${ns} failed (${code}): ${err.trim()}`));
      else resolve(JSON.parse(out) as PollSample[]);
    });
  });
}

export interface PollSummary {
  requests: number;
  failed: number;
  /** Answers per node. */
  byNode: Record<string, number>;
  /** Every change of the answering node, in order (`n1→n2` at the first answer of the new one). */
  changes: { at: number; from: string; to: string }[];
  /** Longest time between two answered requests' starts (ms), 0 with fewer than two. */
  longestGapMs: number;
}

export function summarizePoll(samples: readonly PollSample[]): PollSummary {
  const byNode: Record<string, number> = {};
  const changes: PollSummary['changes'] = [];
  let last: PollSample | undefined;
  let longestGapMs = 0;
  for (const sample of samples) {
    if (sample.node === null) continue;
    byNode[sample.node] = (byNode[sample.node] ?? 0) + 1;
    if (last && last.node !== sample.node) changes.push({ at: sample.at, from: last.node!, to: sample.node });
    if (last) longestGapMs = Math.max(longestGapMs, sample.at - last.at);
    last = sample;
  }
  return {
    requests: samples.length,
    failed: samples.filter((s) => s.node === null).length,
    byNode,
    changes,
    longestGapMs,
  };
}
