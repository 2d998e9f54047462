import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSummary } from "./h2load.js";

/** h2load 1.52's summary of a 2 s run after 2 s of warm-up (its output, trimmed to the summary). */
const WITH_WARM_UP = `finished in 4.00s, 10931.00 req/s, 416.52KB/s
requests: 21862 total, 21862 started, 21862 done, 21862 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 21864 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 833.03KB (853026) total, 239.07KB (244812) headers (space savings 96.68%), 238.70KB (244430) data
`;

test("the measured time excludes h2load's warm-up: 21,862 requests at 10,931 req/s took 2 s, not 4", () => {
  const summary = parseSummary(WITH_WARM_UP);
  assert.equal(summary.requests, 21862);
  assert.equal(summary.seconds, 2);
  assert.equal(summary.requests / summary.seconds, 10931);
  assert.equal(summary.status2xx, 21864);
  assert.equal(summary.dataBytes, 244430);
});

test("a summary without its rate line is refused, showing the output", () => {
  assert.throws(() => parseSummary("requests: 1 total, 1 started, 1 done\n"), /unexpected h2load output/);
});
