import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./errors.js";
import { loadConfig, type LoadedConfig } from "./load.js";
import type { CommandName } from "./flags.js";

const root = mkdtempSync(join(tmpdir(), "armada-config-test-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

/** A fresh directory holding the given files. */
function dirWith(files: Record<string, string>): string {
  const dir = join(root, `d${dirCount++}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Loads with no config file search unless `searchDirs` is given, so the host's /etc/armada never leaks in. */
function load(
  command: CommandName,
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  searchDirs: string[] = [],
): LoadedConfig {
  return loadConfig(command, argv, env, { searchDirs });
}

function throwsConfig(run: () => unknown, message: string | RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test("without any source every key holds its typed default and nothing is explicit", () => {
  // Proves defaults come from the table with their types, and defaults never count as "set".
  const config = load("leader", []);
  assert.equal(config.help, false);
  assert.equal(config.values["api.address"], "http://0.0.0.0:8443");
  assert.equal(config.values["raft.node-id"], 1);
  assert.equal(config.values["raft.rtt"], 50);
  assert.equal(config.values["tables.enabled"], true);
  assert.deepEqual(config.values["raft.initial-members"], {});
  assert.deepEqual(config.values["tables.names"], []);
  assert.equal(config.values["config"], undefined);
  assert.equal(config.explicit.size, 0);
  assert.equal(config.configFile, undefined);
  assert.equal(config.sources["api.address"], "default");
});

test("precedence is flag over environment over config file over default", () => {
  // Proves spec §14.3 ordering for one key set in all places, and the fallthrough when a source is missing.
  const dir = dirWith({ "config.yaml": "api:\n  address: http://file:1\nraft:\n  address: file:5012\nlog-level: warn\n" });
  const env = { ARMADA_API_ADDRESS: "http://env:1", ARMADA_RAFT_ADDRESS: "env:5012" };
  const config = load("leader", ["--api.address=http://flag:1"], env, [dir]);
  assert.equal(config.values["api.address"], "http://flag:1");
  assert.equal(config.sources["api.address"], "flag");
  assert.equal(config.values["raft.address"], "env:5012");
  assert.equal(config.sources["raft.address"], "env");
  assert.equal(config.values["log-level"], "warn");
  assert.equal(config.sources["log-level"], "file");
  assert.equal(config.values["raft.node-host-dir"], "/tmp/armada/raft");
  assert.deepEqual([...config.explicit].sort(), ["api.address", "log-level", "raft.address"]);
  assert.equal(config.configFile, join(dir, "config.yaml"));
});

test("ARMADA_ names beat reference-style dotted names; dot-less reference names are never read", () => {
  // Proves the [FIX/EXT] environment rules: ARMADA_X first, API.ADDRESS accepted, TOKEN/DEV-MODE ignored.
  const both = load("leader", [], { ARMADA_API_ADDRESS: "http://a:1", "API.ADDRESS": "http://b:1" });
  assert.equal(both.values["api.address"], "http://a:1");
  const referenceOnly = load("leader", [], { "API.ADDRESS": "http://b:1", "RAFT.NODE-ID": "7" });
  assert.equal(referenceOnly.values["api.address"], "http://b:1");
  assert.equal(referenceOnly.values["raft.node-id"], 7);
  const dotless = load("leader", [], { "DEV-MODE": "true", DEV_MODE: "true" });
  assert.equal(dotless.values["dev-mode"], false);
  const tool = load("backup", [], { TOKEN: "x", DIR: "/d", ADDRESS: "h:1", JSON: "true" });
  assert.equal(tool.values["token"], "");
  assert.equal(tool.values["dir"], "");
  assert.equal(tool.values["json"], false);
  const prefixed = load("backup", [], { ARMADA_TOKEN: "secret", ARMADA_DIR: "/d", ARMADA_JSON: "1" });
  assert.equal(prefixed.values["token"], "secret");
  assert.equal(prefixed.values["dir"], "/d");
  assert.equal(prefixed.values["json"], true);
  assert.equal(load("leader", [], { ARMADA_DEV_MODE: "true" }).values["dev-mode"], true);
});

test("empty environment variables count as unset", () => {
  // Proves `ARMADA_RAFT_ADDRESS=` does not satisfy "must be set" nor hide a config-file value.
  const dir = dirWith({ "config.json": '{"raft.address": "file:1"}' });
  const config = load("leader", [], { ARMADA_RAFT_ADDRESS: "" }, [dir]);
  assert.equal(config.values["raft.address"], "file:1");
  assert.equal(config.sources["raft.address"], "file");
});

test("flag syntax: --name=value, --name value, bare and explicit booleans", () => {
  // Proves spec §14.2 forms, including that a bare boolean does not swallow the next argument.
  const config = load("leader", [
    "--raft.address", "127.0.0.1:5012", "--raft.node-id=3", "--dev-mode", "--tables.enabled=false",
    "--api.client-cert-auth", "--raft.rtt", "100ms", "--api.stream-workers=-1",
  ]);
  assert.equal(config.values["raft.address"], "127.0.0.1:5012");
  assert.equal(config.values["raft.node-id"], 3);
  assert.equal(config.values["dev-mode"], true);
  assert.equal(config.values["tables.enabled"], false);
  assert.equal(config.values["api.client-cert-auth"], true);
  assert.equal(config.values["raft.rtt"], 100);
  assert.equal(config.values["api.stream-workers"], -1);
});

test("a repeated scalar flag keeps the last value", () => {
  // Proves repetition of a non-list flag is harmless and predictable.
  assert.equal(load("leader", ["--raft.node-id=2", "--raft.node-id=5"]).values["raft.node-id"], 5);
});

test("string lists are comma-separated and the flag is repeatable", () => {
  // Proves both list spellings combine in order, trimmed, with empty items dropped.
  const config = load("leader", ["--memberlist.members=a:1, b:2", "--memberlist.members", "c:3", "--tables.names="]);
  assert.deepEqual(config.values["memberlist.members"], ["a:1", "b:2", "c:3"]);
  assert.deepEqual(config.values["tables.names"], []);
  assert.ok(config.explicit.has("tables.names"));
  const fromEnv = load("leader", [], { ARMADA_MEMBERLIST_MEMBERS: "x:1,y:2" });
  assert.deepEqual(fromEnv.values["memberlist.members"], ["x:1", "y:2"]);
  const flagWins = load("leader", ["--memberlist.members=z:9"], { ARMADA_MEMBERLIST_MEMBERS: "x:1,y:2" });
  assert.deepEqual(flagWins.values["memberlist.members"], ["z:9"]);
});

test("maps parse id=address pairs and repeated flags merge", () => {
  // Proves --raft.initial-members syntax with canonical decimal ids as keys.
  const config = load("leader", ["--raft.initial-members=1=10.0.0.1:5012, 2=10.0.0.2:5012", "--raft.initial-members=03=c:3"]);
  assert.deepEqual(config.values["raft.initial-members"], { "1": "10.0.0.1:5012", "2": "10.0.0.2:5012", "3": "c:3" });
  const fromEnv = load("follower", [], { "RAFT.INITIAL-MEMBERS": "4=d:4" });
  assert.deepEqual(fromEnv.values["raft.initial-members"], { "4": "d:4" });
});

test("malformed maps fail with failed to parse raft.initial-members", () => {
  // Proves the §14.7 message and a useful detail for each kind of mistake, from every source.
  const cases: Array<[string, string]> = [
    ["a=x:1", 'member id "a" is not an unsigned integer'],
    ["-1=x:1", 'member id "-1" is not an unsigned integer'],
    ["0=x:1", "member id 0 must be at least 1"],
    ["1x:1", 'entry "1x:1" is not of the form id=address'],
    ["1=", "member 1 has an empty address"],
    ["1=a:1,1=b:1", "member id 1 appears more than once"],
  ];
  for (const [text, detail] of cases) {
    throwsConfig(() => load("leader", [`--raft.initial-members=${text}`]), `failed to parse raft.initial-members: ${detail}`);
  }
  throwsConfig(() => load("leader", [], { ARMADA_RAFT_INITIAL_MEMBERS: "x=1" }),
    'failed to parse raft.initial-members: member id "x" is not an unsigned integer');
  const dir = dirWith({ "config.yaml": "raft:\n  initial-members:\n    one: a:1\n" });
  throwsConfig(() => load("leader", [], {}, [dir]),
    'failed to parse raft.initial-members: member id "one" is not an unsigned integer');
});

test("nested YAML, dotted YAML and JSON config files are equivalent", () => {
  // Proves `api: {address: …}` ≡ `api.address`, maps stay whole under nesting, and JSON works the same.
  const nested = dirWith({
    "config.yaml": [
      "api:", "  address: https://0.0.0.0:9443", "raft:", "  node-id: 2", "  rtt: 75ms",
      "  initial-members:", "    1: a:5012", "    2: b:5012", "memberlist:", "  members: [m1:7432, m2:7432]",
      "tables:", "  enabled: false", "",
    ].join("\n"),
  });
  const dotted = dirWith({
    "config.yml": [
      "api.address: https://0.0.0.0:9443", "raft.node-id: '2'", "raft.rtt: 75ms",
      "raft.initial-members: 1=a:5012,2=b:5012", "memberlist.members: m1:7432,m2:7432", "tables.enabled: 'false'", "",
    ].join("\n"),
  });
  const json = dirWith({
    "config.json": JSON.stringify({
      api: { address: "https://0.0.0.0:9443" }, "raft.node-id": 2, raft: { rtt: "75ms", "initial-members": { 1: "a:5012", 2: "b:5012" } },
      memberlist: { members: ["m1:7432", "m2:7432"] }, "tables.enabled": false,
    }),
  });
  const keys = ["api.address", "raft.node-id", "raft.rtt", "raft.initial-members", "memberlist.members", "tables.enabled"];
  const pick = (config: LoadedConfig) => Object.fromEntries(keys.map((key) => [key, config.values[key]]));
  const expected = {
    "api.address": "https://0.0.0.0:9443", "raft.node-id": 2, "raft.rtt": 75,
    "raft.initial-members": { "1": "a:5012", "2": "b:5012" }, "memberlist.members": ["m1:7432", "m2:7432"],
    "tables.enabled": false,
  };
  for (const dir of [nested, dotted, json]) {
    const config = load("leader", [], {}, [dir]);
    assert.deepEqual(pick(config), expected, dir);
    assert.deepEqual(config.warnings, []);
    for (const key of keys) assert.ok(config.explicit.has(key), key);
  }
});

test("unknown config-file keys are warnings, not failures", () => {
  // Proves one file can be shared between leader and follower and survive unknown keys.
  const dir = dirWith({ "config.yaml": "replication:\n  leader-address: https://l:8444\nbogus: 1\napi:\n  nope: 2\n" });
  const config = load("leader", [], {}, [dir]);
  assert.equal(config.warnings.length, 3);
  assert.match(config.warnings[0]!, /unknown key "replication\.leader-address" ignored/);
  assert.match(config.warnings[1]!, /unknown key "bogus" ignored/);
  assert.match(config.warnings[2]!, /unknown key "api\.nope" ignored/);
  const follower = load("follower", [], {}, [dir]);
  assert.equal(follower.values["replication.leader-address"], "https://l:8444");
});

test("config file search takes the first directory that has one", () => {
  // Proves the search order and that yaml is preferred over json within a directory.
  const empty = dirWith({});
  const first = dirWith({ "config.json": '{"raft.address": "json:1"}', "config.yaml": "raft.address: yaml:1\n" });
  const second = dirWith({ "config.yaml": "raft.address: second:1\n" });
  const config = load("leader", [], {}, [empty, first, second]);
  assert.equal(config.values["raft.address"], "yaml:1");
  assert.equal(config.configFile, join(first, "config.yaml"));
  assert.equal(load("leader", [], {}, [empty]).configFile, undefined);
});

test("default search path ends with $HOME/.armada and the working directory", () => {
  // Proves the injectable cwd/home are used when no explicit search path is given.
  const home = dirWith({});
  mkdirSync(join(home, ".armada"));
  writeFileSync(join(home, ".armada", "config.yaml"), "raft.address: home:1\n");
  const cwd = dirWith({ "config.yaml": "raft.address: cwd:1\n" });
  const fromHome = loadConfig("leader", [], {}, { home, cwd });
  // A host with /etc/armada or /config files would win; only assert when they did not.
  if (fromHome.configFile?.startsWith(home) === true) assert.equal(fromHome.values["raft.address"], "home:1");
  const fromCwd = loadConfig("leader", [], {}, { home: dirWith({}), cwd });
  if (fromCwd.configFile?.startsWith(cwd) === true) assert.equal(fromCwd.values["raft.address"], "cwd:1");
});

test("--config selects a file explicitly and failures to read it are fatal", () => {
  // Proves the [EXT] --config flag, ARMADA_CONFIG, and the `cannot read config file` messages.
  const dir = dirWith({
    "armada.yaml": "raft:\n  address: explicit:1\n",
    "broken.yaml": "api: [unclosed\n",
    "broken.json": "{nope",
    "list.yaml": "- a\n- b\n",
    "config.toml": "[api]\naddress = 'x'\n",
  });
  const searched = dirWith({ "config.yaml": "raft.address: searched:1\n" });
  assert.equal(load("leader", ["--config", join(dir, "armada.yaml")], {}, [searched]).values["raft.address"], "explicit:1");
  assert.equal(load("leader", [], { ARMADA_CONFIG: join(dir, "armada.yaml") }, [searched]).values["raft.address"], "explicit:1");
  const missing = join(dir, "missing.yaml");
  throwsConfig(() => load("leader", [`--config=${missing}`]), `cannot read config file '${missing}': no such file`);
  throwsConfig(() => load("leader", [`--config=${join(dir, "broken.yaml")}`]), /^cannot read config file '.*broken\.yaml': .+/);
  throwsConfig(() => load("leader", [`--config=${join(dir, "broken.json")}`]), /^cannot read config file '.*broken\.json': .+/);
  throwsConfig(() => load("leader", [`--config=${join(dir, "list.yaml")}`]),
    /cannot read config file '.*list\.yaml': the top level must be a mapping of flag names to values$/);
  throwsConfig(() => load("leader", [], {}, [dir]),
    `cannot read config file '${join(dir, "config.toml")}': TOML is not supported; use YAML or JSON`);
});

test("an empty config file is fine", () => {
  // Proves an empty or comment-only file means "no settings", not a parse failure.
  const dir = dirWith({ "config.yaml": "# nothing yet\n" });
  const config = load("leader", [], {}, [dir]);
  assert.equal(config.explicit.size, 0);
  assert.equal(config.configFile, join(dir, "config.yaml"));
});

test("unknown flags, stray arguments and missing values are errors", () => {
  // Proves spec §14.1: unknown flags print an error (the caller exits 1).
  throwsConfig(() => load("leader", ["--x"]), "unknown flag: --x");
  throwsConfig(() => load("leader", ["--x=1"]), "unknown flag: --x");
  throwsConfig(() => load("leader", ["-x"]), "unknown flag: -x");
  throwsConfig(() => load("follower", ["--replication.address=http://a:1"]), "unknown flag: --replication.address");
  throwsConfig(() => load("backup", ["--api.address=http://a:1"]), "unknown flag: --api.address");
  throwsConfig(() => load("leader", ["extra"]), 'unexpected argument "extra": armada leader takes only flags');
  throwsConfig(() => load("leader", ["--raft.address"]), "flag needs an argument: --raft.address");
  throwsConfig(() => load("leader", ["--raft.address", "--dev-mode"]), "flag needs an argument: --raft.address");
});

test("bad values name the value, the flag and the reason", () => {
  // Proves each type rejects malformed input with `invalid value "x" for flag --name: <why>`, per source.
  const cases: Array<[string, string]> = [
    ["--raft.node-id=x", 'invalid value "x" for flag --raft.node-id: expected an unsigned integer'],
    ["--raft.node-id=-1", 'invalid value "-1" for flag --raft.node-id: expected an unsigned integer'],
    ["--raft.node-id=1.5", 'invalid value "1.5" for flag --raft.node-id: expected an unsigned integer'],
    ["--raft.node-id=9007199254740992", 'invalid value "9007199254740992" for flag --raft.node-id: out of range (largest accepted is 9007199254740991)'],
    ["--api.max-concurrent-streams=4294967296", 'invalid value "4294967296" for flag --api.max-concurrent-streams: out of range (largest accepted is 4294967295)'],
    ["--raft.heartbeat-rtt=abc", 'invalid value "abc" for flag --raft.heartbeat-rtt: expected an integer'],
    ["--dev-mode=yes", 'invalid value "yes" for flag --dev-mode: expected true or false'],
    ["--raft.rtt=5", 'invalid value "5" for flag --raft.rtt: invalid duration "5": missing unit (one of ns, us, µs, ms, s, m, h)'],
    ["--raft.rtt=-5ms", 'invalid value "-5ms" for flag --raft.rtt: a duration must not be negative'],
  ];
  for (const [argument, message] of cases) throwsConfig(() => load("leader", [argument]), message);
  throwsConfig(() => load("leader", [], { ARMADA_RAFT_NODE_ID: "x" }),
    'invalid value "x" for environment variable ARMADA_RAFT_NODE_ID: expected an unsigned integer');
  throwsConfig(() => load("leader", [], { "RAFT.NODE-ID": "x" }),
    'invalid value "x" for environment variable RAFT.NODE-ID: expected an unsigned integer');
  const dir = dirWith({ "config.yaml": "raft:\n  node-id: [1]\n" });
  throwsConfig(() => load("leader", [], {}, [dir]),
    `invalid value [1] for raft.node-id in config file '${join(dir, "config.yaml")}': expected an unsigned integer`);
});

test("-h and --help return the help marker without loading anything", () => {
  // Proves help wins even next to otherwise fatal arguments, so `armada leader --bogus -h` still shows usage.
  for (const argv of [["-h"], ["--help"], ["--bogus", "--help"], ["--raft.node-id=x", "-h"]]) {
    const config = load("leader", argv);
    assert.equal(config.help, true, argv.join(" "));
    assert.equal(config.values["api.address"], "http://0.0.0.0:8443");
  }
  throwsConfig(() => load("leader", ["--", "--help"]), 'unexpected argument "--help": armada leader takes only flags');
});

test("deprecated flags load with a warning", () => {
  // Proves tables.names/tables.delete (spec §6.6) are accepted and point to the Tables API.
  const config = load("leader", ["--tables.names=a,b", "--tables.delete=c"]);
  assert.deepEqual(config.values["tables.names"], ["a", "b"]);
  assert.deepEqual(config.warnings, [
    "flag --tables.names is deprecated: use the Tables API (Tables/Create) instead",
    "flag --tables.delete is deprecated: use the Tables API (Tables/Delete) instead",
  ]);
});

test("returned lists and maps are copies the caller may not corrupt the defaults through", () => {
  // Proves loads are independent: mutating one result never changes the next one's defaults.
  const first = load("leader", []);
  (first.values["tables.names"] as string[]).push("x");
  (first.values["raft.initial-members"] as Record<string, string>)["1"] = "x:1";
  const second = load("leader", []);
  assert.deepEqual(second.values["tables.names"], []);
  assert.deepEqual(second.values["raft.initial-members"], {});
});
