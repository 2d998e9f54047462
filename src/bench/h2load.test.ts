import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDurationLog, parseSummary } from "./h2load.js";

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

test("h2load's request log gives every duration and counts the statuses that are not 200", () => {
  const log = [
    "1764790000000001\t200\t345",
    "1764790000000002\t200\t1200",
    "1764790000000003\t0\t5000001",
    "1764790000000004\t503\t17",
    "1764790000000005\t-1\t9",
    "",
  ].join("\n");
  const durations: number[] = [];
  const statuses = new Map<string, number>();
  parseDurationLog(Buffer.from(log), durations, statuses);
  assert.deepEqual(durations, [345, 1200, 5000001, 17, 9]);
  assert.deepEqual(Object.fromEntries(statuses), { "0": 1, "503": 1, "-1": 1 });
});

test("a log's last line counts without its newline; malformed lines are skipped, not misread", () => {
  const durations: number[] = [];
  const statuses = new Map<string, number>();
  const log = "1\t200\t10\nnot a line\n2\t200\n3\t2x0\t40\n\t200\t50\n4\t200\t60\t7\n5\t200\t70";
  parseDurationLog(Buffer.from(log), durations, statuses);
  assert.deepEqual(durations, [10, 70]);
  assert.equal(statuses.size, 0);
});

test("durations are appended to those of earlier logs (several h2load processes in one run)", () => {
  const durations = [1, 2];
  parseDurationLog(Buffer.from("9\t200\t3\n"), durations, new Map());
  assert.deepEqual(durations, [1, 2, 3]);
});
