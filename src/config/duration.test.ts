import { test } from "node:test";
import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.js";
import { ConfigError } from "./errors.js";

test("parses every Go unit, decimals, signs and the bare zero into milliseconds", () => {
  // Proves the syntax existing Regatta configs use (spec §14.2) is read with Go's meaning.
  const cases: Array<[string, number]> = [
    ["500ms", 500], ["1s", 1000], ["1m30s", 90_000], ["1h", 3_600_000], ["1.5h", 5_400_000],
    ["300us", 0.3], ["300µs", 0.3], ["300μs", 0.3], ["10ns", 0.00001], ["-1s", -1000], ["+2s", 2000],
    ["0", 0], ["0s", 0], ["1.s", 1000], [".5s", 500], ["1h2m3s4ms", 3_723_004], ["2h45m", 9_900_000],
  ];
  for (const [text, milliseconds] of cases) assert.equal(parseDuration(text), milliseconds, text);
});

test("rejects malformed durations with a message naming the text", () => {
  // Proves bad input fails clearly instead of becoming NaN or a silent default.
  const cases: Array<[string, string]> = [
    ["abc", 'invalid duration "abc"'],
    ["", 'invalid duration ""'],
    [".s", 'invalid duration ".s"'],
    ["-", 'invalid duration "-"'],
    ["1", 'invalid duration "1": missing unit (one of ns, us, µs, ms, s, m, h)'],
    ["1x", 'invalid duration "1x": unknown unit "x"'],
    ["1s2", 'invalid duration "1s2": missing unit (one of ns, us, µs, ms, s, m, h)'],
    ["99999999999h", 'invalid duration "99999999999h": out of range'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseDuration(text), (err: unknown) => err instanceof ConfigError && err.message === message, text);
  }
});

test("formats milliseconds exactly as Go's Duration.String", () => {
  // Proves Status config shows durations the way the reference does ("1m0s", "1h0m0s", "50ms").
  const cases: Array<[number, string]> = [
    [0, "0s"], [0.00001, "10ns"], [0.0015, "1.5µs"], [0.3, "300µs"], [50, "50ms"], [1.5, "1.5ms"],
    [1000, "1s"], [1500, "1.5s"], [60_000, "1m0s"], [90_000, "1m30s"], [3_600_000, "1h0m0s"],
    [5_400_000, "1h30m0s"], [3_723_004, "1h2m3.004s"], [-1000, "-1s"], [100 * 3_600_000, "100h0m0s"],
  ];
  for (const [milliseconds, text] of cases) assert.equal(formatDuration(milliseconds), text, String(milliseconds));
});

test("parse and format round-trip", () => {
  // Proves a value read from a config file is echoed back in a form that reads back to the same value.
  for (const text of ["10ns", "300µs", "50ms", "1.5s", "1m30s", "1h0m0s", "2h45m30.25s"]) {
    assert.equal(formatDuration(parseDuration(text)), text);
  }
});
