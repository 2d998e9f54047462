import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { PlainCounter, PlainHistogram } from "./plain-metrics.js";

test("a plain histogram writes cumulative buckets (a value on a bound counts in it), +Inf, sum and count", async () => {
  const registry = new Registry();
  const family = new PlainHistogram("t_seconds", "test", registry, [0.1, 1]);
  const series = family.series({ op: "get" });
  for (const value of [0.05, 0.1, 0.5, 7]) series.observe(value);
  const text = await registry.metrics();
  assert.match(text, /^# TYPE t_seconds histogram$/m);
  assert.match(text, /^t_seconds_bucket\{le="0.1",op="get"\} 2$/m);
  assert.match(text, /^t_seconds_bucket\{le="1",op="get"\} 3$/m);
  assert.match(text, /^t_seconds_bucket\{le="\+Inf",op="get"\} 4$/m);
  assert.match(text, /^t_seconds_sum\{op="get"\} 7.65$/m);
  assert.match(text, /^t_seconds_count\{op="get"\} 4$/m);
  registry.resetMetrics();
  assert.match(await registry.metrics(), /^t_seconds_count\{op="get"\} 0$/m);
});

test("a plain counter's series start at 0 and are written with their labels", async () => {
  const registry = new Registry();
  const family = new PlainCounter("t_total", "test counter", registry);
  const a = family.series({ code: "OK" });
  family.series({ code: "NotFound" });
  a.value += 3;
  const text = await registry.metrics();
  assert.match(text, /^# HELP t_total test counter$/m);
  assert.match(text, /^t_total\{code="OK"\} 3$/m);
  assert.match(text, /^t_total\{code="NotFound"\} 0$/m);
  assert.throws(() => new PlainCounter("t_total", "again", registry), /already been registered/);
});

test("asking twice for the same label set gives the same series, never a second line", async () => {
  const registry = new Registry();
  const counter = new PlainCounter("t_total", "test", registry);
  const histogram = new PlainHistogram("t_seconds", "test", registry, [1]);
  const first = counter.series({ a: "1", b: "2" });
  const again = counter.series({ b: "2", a: "1" });
  assert.equal(again, first);
  first.value++;
  again.value++;
  assert.equal(histogram.series({ a: "1" }), histogram.series({ a: "1" }));
  const text = await registry.metrics();
  assert.equal(text.match(/^t_total\{/gm)?.length, 1);
  assert.match(text, /^t_total\{a="1",b="2"\} 2$/m);
  assert.equal(text.match(/^t_seconds_count\{/gm)?.length, 1);
});
