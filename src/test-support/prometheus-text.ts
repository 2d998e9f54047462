/**
 * A checker of the Prometheus text exposition format (version 0.0.4), for tests: every line is a
 * comment (`# HELP`, `# TYPE` or free text) or a sample `name{labels} value [timestamp]`, as the
 * Prometheus server's own text parser accepts it.
 */

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
// Prometheus parses values with Go's ParseFloat, which takes Inf and NaN in any case (prom-client writes "Nan").
const VALUE = "(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?[Ii][Nn][Ff]|[Nn][Aa][Nn])";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
const TYPE = new RegExp(`^# TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped)$`);
const HELP = new RegExp(`^# HELP ${NAME}(?: .*)?$`);

/** The lines of `text` that break the grammar; empty when it parses. */
export function invalidExpositionLines(text: string): string[] {
  return text.split("\n").filter((line) => {
    if (line === "") return false;
    if (line.startsWith("# TYPE")) return !TYPE.test(line);
    if (line.startsWith("# HELP")) return !HELP.test(line);
    if (line.startsWith("#")) return false;
    return !SAMPLE.test(line);
  });
}

/** The value of the sample whose name and labels are exactly `series` (e.g. `up{job="a"}`), if present. */
export function sampleValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).split(" ")[0]);
}
