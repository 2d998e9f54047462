/**
 * Resolves the configuration of one `armada` sub-command from argv, the environment, a config file and the
 * built-in defaults, with precedence flag > environment > config file > default (spec §14.3).
 */
import { homedir } from "node:os";
import { ConfigError } from "./errors.js";
import { defaultSearchDirs, findConfigFile, readConfigFile } from "./file.js";
import {
  envNameOf, findFlag, flagsFor, referenceEnvNameOf, type CommandName, type FlagSpec, type FlagValue,
} from "./flags.js";
import { MapParseError, parseFileValue, parseText, ValueError } from "./parse-value.js";

/** Where a value came from. */
export type ConfigSource = "flag" | "env" | "file" | "default";

export interface LoadedConfig {
  readonly command: CommandName;
  /** True when `-h`/`--help` was given: print usage and exit 0; `values` then hold the defaults. */
  readonly help: boolean;
  /**
   * Flat dotted key → typed value for every flag of the command (except `--config`): strings, booleans,
   * numbers (durations in milliseconds), string arrays, and `{ "<node id>": "<address>" }` for maps.
   */
  readonly values: Readonly<Record<string, FlagValue>>;
  /** Keys set by a flag, an environment variable or the config file, i.e. not left at their default. */
  readonly explicit: ReadonlySet<string>;
  readonly sources: Readonly<Record<string, ConfigSource>>;
  /** The config file that was read, if any. */
  readonly configFile?: string;
  /** Non-fatal problems to log at startup: unknown config-file keys, deprecated flags in use. */
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  /** Directory searched last for `config.*`; defaults to `process.cwd()`. */
  readonly cwd?: string;
  /** Home directory whose `.armada` is searched; defaults to `$HOME`, then the OS home directory. */
  readonly home?: string;
  /** Replaces the whole search path (tests use this to keep /etc/armada out). */
  readonly searchDirs?: readonly string[];
}

const HELP_ARGUMENTS = new Set(["-h", "--help"]);

/**
 * Loads the configuration of `command`.
 * @throws ConfigError with the exact line to print, e.g. `unknown flag: --x`,
 *   `invalid value "x" for flag --raft.node-id: expected an unsigned integer`,
 *   `failed to parse raft.initial-members: <detail>`, `cannot read config file '<path>': <detail>`.
 */
export function loadConfig(
  command: CommandName,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  options: LoadOptions = {},
): LoadedConfig {
  const specs = flagsFor(command).filter((spec) => spec.meta !== true);
  if (wantsHelp(argv)) return defaultsOnly(command, specs);
  const fromArgv = parseArgv(command, argv);
  const configPath = nonEmpty(fromArgv.configPath) ?? nonEmpty(env[envNameOf("config")]);
  const isFlag = (name: string): boolean => isSettable(command, name);
  let file: ReturnType<typeof readConfigFile> | undefined;
  if (configPath !== undefined) {
    file = readConfigFile(configPath, isFlag);
  } else {
    const dirs = options.searchDirs ?? defaultSearchDirs({
      cwd: options.cwd ?? process.cwd(),
      home: options.home ?? env.HOME ?? homedir(),
    });
    const found = findConfigFile(dirs);
    if (found !== undefined) file = readConfigFile(found, isFlag);
  }

  const values: Record<string, FlagValue> = {};
  const sources: Record<string, ConfigSource> = {};
  const explicit = new Set<string>();
  const warnings: string[] = [...(file?.warnings ?? [])];
  for (const spec of specs) {
    const [value, source] = resolve(spec, fromArgv.values, env, file);
    values[spec.name] = value;
    sources[spec.name] = source;
    if (source === "default") continue;
    explicit.add(spec.name);
    if (spec.deprecated !== undefined) warnings.push(`flag --${spec.name} is deprecated: ${spec.deprecated}`);
  }
  return { command, help: false, values, explicit, sources, configFile: file?.path, warnings };
}

function isSettable(command: CommandName, name: string): boolean {
  const spec = findFlag(command, name);
  return spec !== undefined && spec.meta !== true;
}

function wantsHelp(argv: readonly string[]): boolean {
  for (const argument of argv) {
    if (argument === "--") return false;
    if (HELP_ARGUMENTS.has(argument)) return true;
  }
  return false;
}

function defaultsOnly(command: CommandName, specs: readonly FlagSpec[]): LoadedConfig {
  const values: Record<string, FlagValue> = {};
  const sources: Record<string, ConfigSource> = {};
  for (const spec of specs) {
    values[spec.name] = copyValue(spec.default);
    sources[spec.name] = "default";
  }
  return { command, help: true, values, explicit: new Set(), sources, warnings: [] };
}

function resolve(
  spec: FlagSpec,
  fromArgv: ReadonlyMap<string, FlagValue>,
  env: NodeJS.ProcessEnv,
  file: ReturnType<typeof readConfigFile> | undefined,
): [FlagValue, ConfigSource] {
  const flagValue = fromArgv.get(spec.name);
  if (flagValue !== undefined) return [flagValue, "flag"];
  for (const envName of [envNameOf(spec.name), referenceEnvNameOf(spec.name)]) {
    const text = envName === undefined ? undefined : nonEmpty(env[envName]);
    if (text === undefined) continue;
    return [convert(spec, () => parseText(spec, text), `${JSON.stringify(text)} for environment variable ${envName}`), "env"];
  }
  if (file?.entries.has(spec.name) === true) {
    const raw = file.entries.get(spec.name);
    const shown = JSON.stringify(raw) ?? String(raw);
    return [convert(spec, () => parseFileValue(spec, raw), `${shown} for ${spec.name} in config file '${file.path}'`), "file"];
  }
  return [copyValue(spec.default), "default"];
}

/** Runs a parser and turns its reason into the message for this source. */
function convert(spec: FlagSpec, parse: () => FlagValue, what: string): FlagValue {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MapParseError) throw new ConfigError(`failed to parse ${spec.name}: ${err.message}`);
    if (err instanceof ValueError) throw new ConfigError(`invalid value ${what}: ${err.message}`);
    throw err;
  }
}

/** Empty environment variables count as unset, as in the reference. */
function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}

function copyValue(value: FlagValue): FlagValue {
  if (Array.isArray(value)) return [...(value as readonly string[])];
  if (typeof value === "object") return { ...value };
  return value;
}

interface ArgvValues {
  readonly values: Map<string, FlagValue>;
  readonly configPath?: string;
}

/** Parses `--name=value`, `--name value`, `--bool`, repeated lists and maps; there are no positional arguments. */
function parseArgv(command: CommandName, argv: readonly string[]): ArgvValues {
  const values = new Map<string, FlagValue>();
  let configPath: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === "--") {
      if (index + 1 < argv.length) throw unexpectedArgument(command, argv[index + 1]!);
      break;
    }
    if (!argument.startsWith("--")) {
      if (argument.startsWith("-") && argument !== "-") throw new ConfigError(`unknown flag: ${argument}`);
      throw unexpectedArgument(command, argument);
    }
    const body = argument.slice(2);
    const equals = body.indexOf("=");
    const name = equals < 0 ? body : body.slice(0, equals);
    const spec = findFlag(command, name);
    if (spec === undefined) throw new ConfigError(`unknown flag: --${name}`);
    let text: string;
    if (equals >= 0) {
      text = body.slice(equals + 1);
    } else if (spec.type === "bool") {
      text = "true";
    } else {
      const next = argv[index + 1];
      if (next === undefined || next.startsWith("--")) throw new ConfigError(`flag needs an argument: --${name}`);
      text = next;
      index++;
    }
    if (spec.meta === true) {
      configPath = text;
      continue;
    }
    const value = convert(spec, () => parseText(spec, text), `${JSON.stringify(text)} for flag --${name}`);
    values.set(name, accumulate(spec, values.get(name), value));
  }
  return { values, configPath };
}

/** Repeated list flags append and repeated map flags merge; any other repeated flag keeps its last value. */
function accumulate(spec: FlagSpec, previous: FlagValue | undefined, next: FlagValue): FlagValue {
  if (previous === undefined) return next;
  if (spec.type === "stringList") return [...(previous as readonly string[]), ...(next as readonly string[])];
  if (spec.type === "map") return { ...(previous as Record<string, string>), ...(next as Record<string, string>) };
  return next;
}

function unexpectedArgument(command: CommandName, argument: string): ConfigError {
  return new ConfigError(`unexpected argument ${JSON.stringify(argument)}: armada ${command} takes only flags`);
}
