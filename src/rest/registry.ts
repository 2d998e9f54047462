/**
 * The metrics registry of one node: Node.js process and event-loop metrics under the `armada_` prefix,
 * to which the gRPC and table metrics add their families. One registry per node (not prom-client's
 * global one) so that several nodes in one test process do not share series.
 *
 * The process metrics are prom-client's default set without one member, `nodejs_gc_duration_seconds`:
 * it is fed by a PerformanceObserver on "gc" entries, for which Node builds an entry object at every
 * collection. With it in the process, a node serving only reads promoted 3,184 bytes at every scavenge,
 * whatever the load (about 65 KB/s at 60,000 reads/s, which only a full collection frees); without it
 * (and without fresh-tables.ts's former observer), nothing is promoted and scavenges copy less than half as much
 * (docs/performance.md, change 53). Which objects outlived two scavenges was not pinned down. Heap sizes per space (`nodejs_heap_space_size_*`) and the event-loop
 * lag still show what the collector does to the node.
 */
import { createRequire } from "node:module";
import { collectDefaultMetrics, Registry } from "prom-client";

/** Prefix of Armada's own and the default process metric names (spec §13.4). */
export const METRICS_PREFIX = "armada_";

/** prom-client's default metrics left out (see above), by the name of their module. */
const LEFT_OUT_DEFAULT_METRICS: readonly string[] = ["gc"];

type DefaultMetric = (registry: Registry, config: { prefix: string; eventLoopMonitoringPrecision: number }) => void;

const require = createRequire(import.meta.url);

/** prom-client's default metrics but those left out, each registered as collectDefaultMetrics does it. */
function defaultMetrics(): DefaultMetric[] {
  const names = (collectDefaultMetrics as unknown as { metricsList: readonly string[] }).metricsList;
  return names.filter((name) => !LEFT_OUT_DEFAULT_METRICS.includes(name)).map((name) => require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric);
}

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  // collectDefaultMetrics's own settings (event-loop lag sampled every 10 ms).
  for (const register of defaultMetrics()) register(registry, { prefix: METRICS_PREFIX, eventLoopMonitoringPrecision: 10 });
  return registry;
}
