// test/metrics-samples.ts reads every sample of a real exposition (prom-client's, as the daemon serves it) by name
// and labels, and refuses a line that is not a sample.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { parseMetricSamples, samplesOf, sampleValue } from './metrics-samples.ts';

test('counters and a labelled histogram from prom-client, read back by name and labels', async () => {
  const registry = new Registry();
  const refused = new Counter({ name: 'x_refused_total', help: 'h', labelNames: ['reason'], registers: [registry] });
  refused.inc({ reason: 'auth "failed"\\\n' }, 3);
  refused.inc({ reason: 'expired' });
  const lag = new Histogram({
    name: 'x_lag_seconds',
    help: 'h',
    labelNames: ['thread'],
    buckets: [0.001, 1],
    registers: [registry],
  });
  lag.observe({ thread: 'main' }, 0.5);
  lag.observe({ thread: 'main' }, 2);
  lag.observe({ thread: 'worker' }, 0.0005);
  const samples = parseMetricSamples(await registry.metrics());

  assert.equal(sampleValue(samples, 'x_refused_total', { reason: 'auth "failed"\\\n' }), 3);
  assert.equal(sampleValue(samples, 'x_refused_total', { reason: 'expired' }), 1);
  assert.equal(sampleValue(samples, 'x_refused_total', { reason: 'rate_limited' }), undefined);
  const main = samplesOf(samples, 'x_lag_seconds_bucket', { thread: 'main' }).map((s) => [s.labels.le, s.value]);
  assert.deepEqual(main, [
    ['0.001', 0],
    ['1', 1],
    ['+Inf', 2],
  ]);
  assert.equal(sampleValue(samples, 'x_lag_seconds_bucket', { thread: 'worker', le: '0.001' }), 1);
  assert.equal(sampleValue(samples, 'x_lag_seconds_count', { thread: 'worker' }), 1);
});

test('special values, timestamps, and a line that is not a sample', () => {
  const samples = parseMetricSamples('# HELP a x\na +Inf\nb{l="1"} NaN 1700000000000\nc -2.5e-3\n\n');
  assert.equal(sampleValue(samples, 'a'), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(sampleValue(samples, 'b', { l: '1' })));
  assert.equal(sampleValue(samples, 'c'), -0.0025);
  assert.throws(() => parseMetricSamples('a 1\nb{l="1"}\n'), /metrics line 2: not a sample: b\{l="1"\}/);
  assert.throws(() => parseMetricSamples('a one\n'), /metrics line 1/);
});
