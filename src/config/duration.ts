/**
 * Go-style durations (`500ms`, `1m30s`, `1.5h`, `300µs`), the syntax existing Regatta deployments use in
 * flags and config files (spec §14.2). Armada keeps durations as milliseconds in a `number`; fractions of a
 * millisecond are allowed so that `300us` and `10ns` survive a round trip.
 */
import { ConfigError } from "./errors.js";

const NANOS_PER_MILLI = 1e6;
/** The largest magnitude Go's `time.Duration` (int64 nanoseconds) can hold. */
const DURATION_NANOS_MAX = 9_223_372_036_854_775_807;

/** Nanoseconds per unit; both micro signs (U+00B5 and U+03BC) are accepted, as Go does. */
const UNIT_NANOS: ReadonlyMap<string, number> = new Map([
  ["ns", 1],
  ["us", 1e3],
  ["\u00b5s", 1e3],
  ["\u03bcs", 1e3],
  ["ms", 1e6],
  ["s", 1e9],
  ["m", 60e9],
  ["h", 3600e9],
]);

const TERM_PATTERN = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * Parses a Go duration string into milliseconds.
 *
 * Accepts an optional sign, then one or more `<decimal><unit>` terms; a bare `0` is the only unit-less value.
 * @throws ConfigError `invalid duration "<text>"` (with a reason when it helps).
 */
export function parseDuration(text: string): number {
  const invalid = (why?: string): ConfigError =>
    new ConfigError(`invalid duration ${JSON.stringify(text)}${why === undefined ? "" : `: ${why}`}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid();
  let totalNanos = 0;
  while (rest !== "") {
    const match = TERM_PATTERN.exec(rest)!;
    const [term, whole, fraction = "", unit] = match;
    if (whole === "" && fraction === "") throw invalid();
    if (unit === "") throw invalid("missing unit (one of ns, us, µs, ms, s, m, h)");
    const unitNanos = UNIT_NANOS.get(unit);
    if (unitNanos === undefined) throw invalid(`unknown unit ${JSON.stringify(unit)}`);
    totalNanos += Number(whole === "" ? "0" : whole) * unitNanos;
    if (fraction !== "") totalNanos += (Number(fraction) * unitNanos) / 10 ** fraction.length;
    if (!(totalNanos <= DURATION_NANOS_MAX)) throw invalid("out of range");
    rest = rest.slice(term.length);
  }
  // Go keeps whole nanoseconds and drops the rest of a fraction.
  const milliseconds = (sign * Math.trunc(totalNanos)) / NANOS_PER_MILLI;
  return milliseconds === 0 ? 0 : milliseconds; // no -0
}

/**
 * Formats milliseconds the way Go's `time.Duration.String` does: `0s`, `10ns`, `1.5µs`, `50ms`, `1.5s`,
 * `1m30s`, `1h0m0s`.
 */
export function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) throw new RangeError(`cannot format duration ${milliseconds} ms`);
  const totalNanos = BigInt(Math.round(milliseconds * NANOS_PER_MILLI));
  const sign = totalNanos < 0n ? "-" : "";
  const nanos = totalNanos < 0n ? -totalNanos : totalNanos;
  if (nanos === 0n) return "0s";
  if (nanos < 1_000n) return `${sign}${nanos}ns`;
  if (nanos < 1_000_000n) return `${sign}${decimal(nanos, 3)}µs`;
  if (nanos < 1_000_000_000n) return `${sign}${decimal(nanos, 6)}ms`;
  const seconds = decimal(nanos % 60_000_000_000n, 9);
  const totalMinutes = nanos / 60_000_000_000n;
  if (totalMinutes === 0n) return `${sign}${seconds}s`;
  const hours = totalMinutes / 60n;
  const minutes = `${totalMinutes % 60n}m${seconds}s`;
  return hours === 0n ? `${sign}${minutes}` : `${sign}${hours}h${minutes}`;
}

/** Renders `value / 10^digits` with the fraction's trailing zeros (and a bare point) removed. */
function decimal(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const fraction = (value % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return fraction === "" ? `${value / scale}` : `${value / scale}.${fraction}`;
}
