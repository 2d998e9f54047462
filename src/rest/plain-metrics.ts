/**
 * Counter and histogram families for the per-call hot path, registered in a prom-client Registry and
 * written out by it like its own metrics.
 *
 * Why not prom-client's Counter and Histogram: their `inc`/`observe` (also through a label child) build
 * and hash the label set on every call. For the gRPC families, five of those per call were 10% of a
 * serializable read's CPU (docs/performance.md, change 22). Here a series is resolved once (when a method
 * is bound) and a call adds to numbers.
 */
import type { Registry } from "prom-client";

type Labels = Readonly<Record<string, string>>;

/** One series of a counter family: add to `value`. */
export interface CounterSeries {
  value: number;
}

/** One series of a histogram family. */
export class HistogramSeries {
  /** Per bucket (not cumulative), the last one for values above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]!++;
    this.sum += value;
    this.count++;
  }
}

/** What prom-client's Registry reads of a metric (`get`, and `reset` on clear). */
interface MetricValue {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

abstract class PlainFamily {
  readonly aggregator = "sum";
  abstract readonly type: "counter" | "histogram";

  constructor(readonly name: string, readonly help: string, registry: Registry) {
    // A structural metric: the registry only calls get() (and reset()).
    registry.registerMetric(this as never);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  abstract values(): MetricValue[];
  abstract reset(): void;
}

/** The identity of a label set: the same names and values give the same series, as in prom-client. */
function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class PlainCounter extends PlainFamily {
  readonly type = "counter";
  readonly #series = new Map<string, { labels: Labels; series: CounterSeries }>();

  /** The series with `labels`: a new one at 0 (shown as such until it moves), or the existing one. */
  series(labels: Labels): CounterSeries {
    const key = labelsKey(labels);
    let entry = this.#series.get(key);
    if (!entry) this.#series.set(key, (entry = { labels, series: { value: 0 } }));
    return entry.series;
  }

  values(): MetricValue[] {
    return [...this.#series.values()].map(({ labels, series }) => ({ labels, value: series.value }));
  }

  reset(): void {
    for (const { series } of this.#series.values()) series.value = 0;
  }
}

export class PlainHistogram extends PlainFamily {
  readonly type = "histogram";
  readonly #series = new Map<string, { labels: Labels; series: HistogramSeries }>();

  constructor(name: string, help: string, registry: Registry, private readonly bounds: readonly number[]) {
    super(name, help, registry);
  }

  /** The series with `labels`: a new, empty one, or the existing one. */
  series(labels: Labels): HistogramSeries {
    const key = labelsKey(labels);
    let entry = this.#series.get(key);
    if (!entry) this.#series.set(key, (entry = { labels, series: new HistogramSeries(this.bounds) }));
    return entry.series;
  }

  values(): MetricValue[] {
    const values: MetricValue[] = [];
    for (const { labels, series } of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        // `le` first, as prom-client writes it.
        values.push({ metricName: `${this.name}_bucket`, labels: { le: i < this.bounds.length ? String(this.bounds[i]) : "+Inf", ...labels }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: series.count });
    }
    return values;
  }

  reset(): void {
    for (const { series } of this.#series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
