// The tests' and benches' one reader of a daemon's /metrics samples: each sample line of the Prometheus text format
// (`name{label="value",…} value`) taken apart into its name, labels and value, in the order printed.
// parse-prometheus-text-format (test/web/http-api.test.ts checks the whole exposition with it) merges the series of a
// labelled histogram into one (`…_bucket{thread="main",le=…}` and `{thread="worker",…}` become one bucket map), so
// samples are read here, line by line.

/** One sample line of a Prometheus text exposition. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const LABEL_ESCAPES: Record<string, string> = { n: '\n', '"': '"', '\\': '\\' };
const SPECIAL_VALUES: Record<string, number> = {
  '+Inf': Number.POSITIVE_INFINITY,
  '-Inf': Number.NEGATIVE_INFINITY,
  NaN: Number.NaN,
};

/** Every sample of `text`; comment and blank lines are skipped, any other line that is not a sample throws. */
export function parseMetricSamples(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    const value = match === null ? Number.NaN : (SPECIAL_VALUES[match[3]!] ?? Number(match[3]));
    if (match === null || (Number.isNaN(value) && match[3] !== 'NaN'))
      throw new Error(`metrics line ${index + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, label, escaped] of (match[2] ?? '').matchAll(LABEL_PAIR))
      labels[label!] = escaped!.replace(/\\(.)/g, (_, c: string) => LABEL_ESCAPES[c] ?? `\\${c}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The samples of `httpUrl`'s /metrics; throws naming the URL unless it answers 200. */
export async function fetchMetricSamples(httpUrl: string | URL): Promise<MetricSample[]> {
  const url = new URL('/metrics', httpUrl);
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return parseMetricSamples(await response.text());
}

/** The samples named `name` whose labels include every one of `labels`, in the order printed. */
export function samplesOf(samples: MetricSample[], name: string, labels: Record<string, string> = {}): MetricSample[] {
  return samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The value of the first such sample; undefined when there is none (a labelled counter has no series until it counts). */
export function sampleValue(
  samples: MetricSample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samplesOf(samples, name, labels)[0]?.value;
}
