/**
 * Help text of `armada` and its sub-commands, generated from the flag table so it can never disagree with
 * what the parser accepts.
 */
import { formatDuration } from "./duration.js";
import { flagsFor, type CommandName, type FlagSpec, type FlagType } from "./flags.js";

/** Sub-commands in the order `armada --help` lists them. */
export const SUB_COMMANDS: ReadonlyArray<{ readonly name: CommandName | "version"; readonly summary: string }> = [
  { name: "leader", summary: "Run a node of the leader cluster." },
  { name: "follower", summary: "Run a node of a follower cluster that replicates from the leader cluster." },
  { name: "backup", summary: "Back up all tables of a leader cluster to a directory." },
  { name: "restore", summary: "Restore tables from a backup directory (destructive)." },
  { name: "version", summary: "Print version information." },
];

const LINE_WIDTH_MAX = 120;
const FLAG_COLUMN_MAX = 60;

const TYPE_LABELS: Readonly<Record<FlagType, string>> = {
  string: "string",
  bool: "",
  int: "int",
  uint: "uint32",
  uint64: "uint64",
  size: "bytes",
  duration: "duration",
  stringList: "strings",
  map: "id=address,...",
};

/** Usage of `armada` itself, or of one sub-command when `command` is given. */
export function usageText(command?: CommandName | "version"): string {
  if (command === undefined) return rootUsage();
  if (command === "version") return versionUsage();
  return commandUsage(command);
}

function rootUsage(): string {
  const width = Math.max(...SUB_COMMANDS.map((entry) => entry.name.length)) + 3;
  return [
    "Armada KV: a distributed key-value store that distributes data from one core cluster to many edge clusters.",
    "",
    "Usage:",
    "  armada <command> [flags]",
    "",
    "Commands:",
    ...SUB_COMMANDS.map((entry) => `  ${entry.name.padEnd(width)}${entry.summary}`),
    "",
    "Flags:",
    "  -h, --help   Show this help.",
    "",
    'Run "armada <command> --help" for the flags of a command.',
    "",
  ].join("\n");
}

function versionUsage(): string {
  return ["Print the product name, version and runtime.", "", "Usage:", "  armada version", ""].join("\n");
}

function commandUsage(command: CommandName): string {
  const summary = SUB_COMMANDS.find((entry) => entry.name === command)!.summary;
  const rows = flagsFor(command).map((spec) => [flagColumn(spec), describe(spec)] as const);
  rows.push(["-h, --help", "Show this help."]);
  const left = Math.min(FLAG_COLUMN_MAX, Math.max(...rows.map(([flag]) => flag.length))) + 4;
  const lines = rows.flatMap(([flag, text]) => layoutRow(flag, text, left));
  const example = command === "backup" || command === "restore" ? "ARMADA_TOKEN" : "ARMADA_API_ADDRESS";
  const laterNote = flagsFor(command).some((spec) => spec.laterIssue !== undefined)
    ? ['Flags marked "not yet active" are accepted and checked; they take effect when the named feature lands.']
    : [];
  return [
    summary,
    "",
    "Usage:",
    `  armada ${command} [flags]`,
    "",
    "Flags:",
    ...lines,
    "",
    `Every flag can also be set by an environment variable, ARMADA_ followed by its name in upper case with "."`,
    `and "-" written as "_" (e.g. ${example}), or as a key of a YAML or JSON config file (nested maps allowed).`,
    "Precedence: flag, then environment, then config file, then the default.",
    ...laterNote,
    "",
  ].join("\n");
}

function flagColumn(spec: FlagSpec): string {
  const type = TYPE_LABELS[spec.type];
  return `--${spec.name}${type === "" ? "" : ` ${type}`}`;
}

function describe(spec: FlagSpec): string {
  const notes: string[] = [];
  const shownDefault = defaultText(spec);
  if (shownDefault !== undefined) notes.push(`(default ${shownDefault})`);
  if (spec.required === true) notes.push("(required)");
  if (spec.deprecated !== undefined) notes.push(`(deprecated: ${spec.deprecated})`);
  if (spec.laterIssue !== undefined) notes.push(`(not yet active: takes effect when ${spec.laterIssue} lands)`);
  return [spec.description, ...notes].join(" ");
}

/** The default as help shows it, or undefined when it is the type's zero value and needs no mention. */
function defaultText(spec: FlagSpec): string | undefined {
  if (spec.defaultLabel !== undefined) return spec.defaultLabel;
  const value = spec.default;
  switch (spec.type) {
    case "string":
      return value === "" ? undefined : JSON.stringify(value);
    case "bool":
      return value === true ? "true" : undefined;
    case "duration":
      return value === 0 ? undefined : formatDuration(value as number);
    case "stringList":
      return (value as readonly string[]).length === 0 ? undefined : (value as readonly string[]).join(",");
    case "map":
      return undefined;
    default:
      return value === 0 ? undefined : String(value);
  }
}

/** One flag row: the flag column, then the description word-wrapped into the remaining width. */
function layoutRow(flag: string, text: string, left: number): string[] {
  const width = Math.max(40, LINE_WIDTH_MAX - left);
  const wrapped: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      wrapped.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  wrapped.push(line);
  const head = `  ${flag}`;
  const first = head.length + 2 <= left ? `${head.padEnd(left)}${wrapped[0]}` : `${head}\n${" ".repeat(left)}${wrapped[0]}`;
  return [first, ...wrapped.slice(1).map((rest) => `${" ".repeat(left)}${rest}`)];
}
