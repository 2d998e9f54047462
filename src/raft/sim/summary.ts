import type { SimResult } from './simulation.js';

/** A failing seed, as reported. */
export interface SeedFailure {
  readonly seed: number;
  readonly nodeCount: number;
  readonly kind: string;
  readonly message: string;
  readonly trace: readonly string[];
}

/** Totals over many seeds (plain data, so worker threads can post it). */
export interface SimSummary {
  seeds: number;
  simulatedTicks: number;
  elections: number;
  writesProposed: number;
  writesAcked: number;
  readsChecked: number;
  messagesDelivered: number;
  faults: Record<string, number>;
  coverage: Record<string, number>;
  failures: SeedFailure[];
}

export function emptySummary(): SimSummary {
  return {
    seeds: 0, simulatedTicks: 0, elections: 0, writesProposed: 0, writesAcked: 0, readsChecked: 0,
    messagesDelivered: 0, faults: {}, coverage: {}, failures: [],
  };
}

function addCounts(into: Record<string, number>, from: Iterable<[string, number]>): void {
  for (const [k, v] of from) into[k] = (into[k] ?? 0) + v;
}

/** Adds one seed's result. */
export function addResult(summary: SimSummary, r: SimResult): void {
  summary.seeds++;
  summary.simulatedTicks += r.ticks;
  summary.elections += r.elections;
  summary.writesProposed += r.client.writesProposed;
  summary.writesAcked += r.client.writesAcked;
  summary.readsChecked += r.client.readsChecked;
  summary.messagesDelivered += r.messagesDelivered;
  addCounts(summary.faults, r.faults);
  addCounts(summary.coverage, r.coverage);
  if (r.violation !== undefined) {
    summary.failures.push({ seed: r.seed, nodeCount: r.nodeCount, kind: r.violation.kind, message: r.violation.message, trace: r.trace ?? [] });
  }
}

/** Adds another summary (from a worker). */
export function mergeSummary(into: SimSummary, from: SimSummary): void {
  into.seeds += from.seeds;
  into.simulatedTicks += from.simulatedTicks;
  into.elections += from.elections;
  into.writesProposed += from.writesProposed;
  into.writesAcked += from.writesAcked;
  into.readsChecked += from.readsChecked;
  into.messagesDelivered += from.messagesDelivered;
  addCounts(into.faults, Object.entries(from.faults));
  addCounts(into.coverage, Object.entries(from.coverage));
  into.failures.push(...from.failures);
}

const LABEL_WIDTH = 36;

function line(label: string, value: string | number): string {
  return `${label.padEnd(LABEL_WIDTH)}${value}`;
}

function countLines(counts: Record<string, number>): string[] {
  return Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => line(`  ${k}`, v));
}

/** The human-readable report. */
export function formatSummary(s: SimSummary, header: string, wallSeconds: number): string {
  const faultTotal = Object.values(s.faults).reduce((a, b) => a + b, 0);
  const out = [
    header,
    line('seeds run', s.seeds),
    line('simulated ticks', s.simulatedTicks),
    line('faults injected', faultTotal),
    ...countLines(s.faults),
    line('elections', s.elections),
    line('proposals committed', `${s.writesAcked} (of ${s.writesProposed} accepted by a leader)`),
    line('reads checked', s.readsChecked),
    line('messages delivered', s.messagesDelivered),
    line('rare paths taken', ''),
    ...countLines(s.coverage),
    line('violations', s.failures.length),
    line('wall time', `${wallSeconds.toFixed(1)} s`),
  ];
  return out.join('\n');
}
