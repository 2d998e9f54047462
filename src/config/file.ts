/**
 * Finding and reading the YAML/JSON config file (spec §14.3). Keys are flag names; dotted names may be nested
 * (`api: {address: ...}` ≡ `api.address`). Unknown keys are reported as warnings, never fatal, so one file can
 * serve several commands and survive flags being removed.
 */
import { readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError } from "./errors.js";

/** Extensions tried in each search directory, in order. TOML is found so that it can be refused clearly. */
const CONFIG_FILE_EXTENSIONS = ["yaml", "yml", "json", "toml"] as const;

/** The directories searched for `config.<ext>` when `--config` is not given, in order. */
export function defaultSearchDirs(options: { cwd: string; home: string | undefined }): string[] {
  const dirs = ["/etc/armada", "/config"];
  if (options.home !== undefined && options.home !== "") dirs.push(join(options.home, ".armada"));
  dirs.push(options.cwd);
  return dirs;
}

/** The first existing `config.{yaml,yml,json,toml}` in `dirs`, or undefined when there is none. */
export function findConfigFile(dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    for (const extension of CONFIG_FILE_EXTENSIONS) {
      const path = join(dir, `config.${extension}`);
      if (isFile(path)) return path;
    }
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface ConfigFileContents {
  readonly path: string;
  /** Flag name → raw decoded value, for keys that name a flag of the command. */
  readonly entries: ReadonlyMap<string, unknown>;
  readonly warnings: readonly string[];
}

/**
 * Reads and flattens a config file. `isFlag(name)` tells which dotted names are flags of the command, so a
 * map-valued flag such as `raft.initial-members` is taken whole instead of being flattened further.
 * @throws ConfigError `cannot read config file '<path>': <detail>`.
 */
export function readConfigFile(path: string, isFlag: (name: string) => boolean): ConfigFileContents {
  const fail = (detail: string): ConfigError => new ConfigError(`cannot read config file '${path}': ${detail}`);
  if (extname(path).toLowerCase() === ".toml") throw fail("TOML is not supported; use YAML or JSON");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === "ENOENT" ? "no such file" : (err as Error).message);
  }
  const document = decode(path, text, fail);
  if (document === null || document === undefined) return { path, entries: new Map(), warnings: [] };
  if (!isPlainObject(document)) throw fail("the top level must be a mapping of flag names to values");
  const entries = new Map<string, unknown>();
  const warnings: string[] = [];
  flatten(document, "", { entries, warnings, isFlag, path });
  return { path, entries, warnings };
}

function decode(path: string, text: string, fail: (detail: string) => ConfigError): unknown {
  if (extname(path).toLowerCase() === ".json") {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw fail((err as Error).message);
    }
  }
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) throw fail(document.errors[0]!.message);
  return document.toJS({ maxAliasCount: 100 }) as unknown;
}

interface FlattenState {
  readonly entries: Map<string, unknown>;
  readonly warnings: string[];
  readonly isFlag: (name: string) => boolean;
  readonly path: string;
}

function flatten(node: Record<string, unknown>, prefix: string, state: FlattenState): void {
  for (const [rawKey, value] of Object.entries(node)) {
    // Keys are case-insensitive, as in the reference's configuration library.
    const name = prefix === "" ? rawKey.toLowerCase() : `${prefix}.${rawKey.toLowerCase()}`;
    if (state.isFlag(name)) {
      if (value === null || value === undefined) {
        state.warnings.push(`config file '${state.path}': key "${name}" has no value; ignored`);
        continue;
      }
      if (state.entries.has(name)) {
        state.warnings.push(`config file '${state.path}': key "${name}" is set more than once; the last one is used`);
      }
      state.entries.set(name, value);
    } else if (isPlainObject(value)) {
      flatten(value, name, state);
    } else {
      state.warnings.push(`config file '${state.path}': unknown key "${name}" ignored (not a flag of this command)`);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
