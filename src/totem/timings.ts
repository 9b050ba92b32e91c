/**
 * The Totem timings in effect (defaults filled in) and their change at run time (`reconfigure`): validation and
 * the log line naming what changed, in corosync.conf's key names.
 */
// corosync's defaults live in the config layer, which the daemon's options come from; a core built without them
// (the simulator, tests) takes the same defaults and the same hold derivation from there.

import { PERCENT_MAX } from '../base/limits.ts';
import { DEFAULT_TOKEN_WARNING_PCT, derivedHoldMs } from '../config/defaults.ts';
import type { TotemOptions, TotemTimings } from './types.ts';

/** Every timing with its defaults applied. */
export type EffectiveTimings = Required<TotemTimings>;

type Rule = 'positive' | 'nonNegative' | 'count' | 'wholeNumber' | 'percent';

const RULES: Record<Rule, { valid: (value: number) => boolean; text: string }> = {
  positive: { valid: (value) => value > 0, text: 'a positive number' },
  nonNegative: { valid: (value) => value >= 0, text: 'a non-negative number' },
  count: { valid: (value) => Number.isInteger(value) && value >= 1, text: 'a positive integer' },
  wholeNumber: { valid: (value) => Number.isInteger(value) && value >= 0, text: 'a non-negative integer' },
  percent: { valid: (value) => value >= 0 && value <= PERCENT_MAX, text: 'a percentage (0–100)' },
};

/** Each timing: its corosync.conf key, the unit it is logged with and its valid values; in log order. */
const TIMINGS: Record<keyof TotemTimings, { key: string; unit: string; rule: Rule }> = {
  tokenMs: { key: 'token', unit: ' ms', rule: 'positive' },
  tokenRetransmitMs: { key: 'token_retransmit', unit: ' ms', rule: 'positive' },
  holdMs: { key: 'hold', unit: ' ms', rule: 'nonNegative' },
  joinMs: { key: 'join', unit: ' ms', rule: 'positive' },
  consensusMs: { key: 'consensus', unit: ' ms', rule: 'positive' },
  mergeMs: { key: 'merge', unit: ' ms', rule: 'positive' },
  maxMessages: { key: 'max_messages', unit: '', rule: 'count' },
  windowSize: { key: 'window_size', unit: '', rule: 'count' },
  failToRecvConst: { key: 'fail_recv_const', unit: '', rule: 'count' },
  seqnoUnchangedConst: { key: 'seqno_unchanged_const', unit: '', rule: 'wholeNumber' },
  tokenWarningPct: { key: 'token_warning', unit: ' %', rule: 'percent' },
};
const TIMING_NAMES = Object.keys(TIMINGS) as (keyof TotemTimings)[];

/** The timings of `options`, hold and token warning defaulted as corosync does (hold follows token_retransmit). */
export function effectiveTimings(options: TotemOptions): EffectiveTimings {
  return {
    tokenMs: options.tokenMs,
    tokenRetransmitMs: options.tokenRetransmitMs,
    holdMs: options.holdMs ?? derivedHoldMs(options.tokenRetransmitMs),
    joinMs: options.joinMs,
    consensusMs: options.consensusMs,
    mergeMs: options.mergeMs,
    maxMessages: options.maxMessages,
    windowSize: options.windowSize,
    failToRecvConst: options.failToRecvConst,
    seqnoUnchangedConst: options.seqnoUnchangedConst,
    tokenWarningPct: options.tokenWarningPct ?? DEFAULT_TOKEN_WARNING_PCT,
  };
}

/** The timings `changes` sets (an `undefined` value sets nothing). */
export function definedTimings(changes: Partial<TotemTimings>): Partial<TotemTimings> {
  const defined: Partial<TotemTimings> = {};
  for (const name of TIMING_NAMES) if (changes[name] !== undefined) defined[name] = changes[name];
  return defined;
}

/** Why `changes` cannot be applied (the first invalid value), or null. */
export function timingsProblem(changes: Partial<TotemTimings>): string | null {
  for (const [name, value] of Object.entries(definedTimings(changes)) as [keyof TotemTimings, unknown][]) {
    const { key, rule } = TIMINGS[name];
    const { valid, text } = RULES[rule];
    if (typeof value !== 'number' || !Number.isFinite(value) || !valid(value)) {
      return `${key} must be ${text} (got ${String(value)})`;
    }
  }
  return null;
}

/** `token 3000 → 5000 ms, consensus 3600 → 6000 ms`: the timings that differ; '' when none does. */
export function describeTimingChanges(before: EffectiveTimings, after: EffectiveTimings): string {
  return TIMING_NAMES.filter((name) => before[name] !== after[name])
    .map((name) => `${TIMINGS[name].key} ${before[name]} → ${after[name]}${TIMINGS[name].unit}`)
    .join(', ');
}
