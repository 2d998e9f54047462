/**
 * The deployment files (deploy/kubernetes/*.yaml, Dockerfile) checked without Kubernetes or Docker:
 * parsed, and held to what the node actually does — the flags exist for the sub-command, the ports in the
 * flags are the container's ports, probes hit /healthz and /readyz on the REST listener, the pods run as
 * non-root, peers find each other, a disruption budget keeps the Raft quorum, and the grace period covers
 * the graceful stop.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { envNameOf, findFlag, flagsFor, loadConfig, parseListenAddress, validateStartup, type CommandName } from "../config/index.js";
import { LEADERSHIP_HANDOFF_MS, SHUTDOWN_GRACE_MS } from "../server/leader.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const KUBERNETES_DIR = `${REPO}deploy/kubernetes/`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

function loadManifests(): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(KUBERNETES_DIR).filter((name) => name.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(readFileSync(KUBERNETES_DIR + file, "utf8"))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      const value = doc.toJS() as Doc;
      if (value) docs.push({ ...value, sourceFile: file });
    }
  }
  return docs;
}

/**
 * The sub-command and `--flag=value` pairs of a container's command line (shell wrapper included); the
 * flags are those after the sub-command, not Node's before the script.
 */
function commandLine(container: Doc): { command: string; flags: Map<string, string> } {
  const text = [...(container.command ?? []), ...(container.args ?? [])].join(" ");
  const found = /armada(?:\.js)?\s+(leader|follower)\b/.exec(text);
  const flags = new Map<string, string>();
  if (!found) return { command: "", flags };
  for (const match of text.slice(found.index + found[0].length).matchAll(/--([a-z0-9.-]+)=(\S+)/g)) flags.set(match[1]!, match[2]!);
  return { command: found[1]!, flags };
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function portOf(flagValue: string): number {
  // Shell variables may stand for the host (the pod's own DNS name); the port is literal.
  const match = /:(\d+)$/.exec(flagValue);
  return match ? Number(match[1]) : NaN;
}

/** Everything wrong with the manifests; empty when they hold up. */
function manifestProblems(docs: Doc[]): string[] {
  const problems: string[] = [];
  const statefulSets = docs.filter((d) => d.kind === "StatefulSet");
  if (statefulSets.length === 0) problems.push("no StatefulSet");
  const commandsSeen = new Set<string>();
  for (const set of statefulSets) {
    const name = set.metadata.name as string;
    const where = `${set.sourceFile} StatefulSet ${name}`;
    const spec = set.spec;
    const pod = spec.template.spec;
    const labels = spec.template.metadata.labels;
    const replicas = spec.replicas as number;
    if (!matches(spec.selector.matchLabels, labels)) problems.push(`${where}: selector does not match the pod labels`);
    if (spec.podManagementPolicy !== "Parallel") problems.push(`${where}: podManagementPolicy must be Parallel (a node is ready only with a quorum)`);
    if (replicas < 3 || replicas % 2 === 0) problems.push(`${where}: ${replicas} replicas; a Raft cluster wants an odd number, at least 3`);

    const headless = docs.find((d) => d.kind === "Service" && d.metadata.name === spec.serviceName);
    if (!headless) problems.push(`${where}: no Service named ${spec.serviceName}`);
    else {
      if (headless.spec.clusterIP !== "None") problems.push(`${where}: service ${spec.serviceName} is not headless`);
      if (headless.spec.publishNotReadyAddresses !== true) problems.push(`${where}: headless service must publish not-ready addresses (peers meet before they are ready)`);
    }
    const budget = docs.find((d) => d.kind === "PodDisruptionBudget" && matches(d.spec.selector.matchLabels, labels));
    if (!budget) problems.push(`${where}: no PodDisruptionBudget`);
    else {
      const quorum = Math.floor(replicas / 2) + 1;
      const keeps = budget.spec.minAvailable ?? replicas - (budget.spec.maxUnavailable ?? replicas);
      if (typeof keeps !== "number" || keeps < quorum) problems.push(`${where}: the disruption budget lets the cluster fall below its quorum of ${quorum}`);
    }
    const graceSeconds = pod.terminationGracePeriodSeconds ?? 30;
    if (graceSeconds * 1000 < SHUTDOWN_GRACE_MS + LEADERSHIP_HANDOFF_MS) problems.push(`${where}: terminationGracePeriodSeconds ${graceSeconds} is shorter than the graceful stop`);
    if (pod.securityContext?.runAsNonRoot !== true || !(pod.securityContext?.runAsUser > 0)) problems.push(`${where}: pods must run as a non-root user`);

    const containers = pod.containers as Doc[];
    for (const container of containers) {
      const at = `${where} container ${container.name}`;
      const { command, flags } = commandLine(container);
      if (command !== "leader" && command !== "follower") {
        problems.push(`${at}: runs neither armada leader nor armada follower`);
        continue;
      }
      commandsSeen.add(command);
      for (const flag of flags.keys()) if (!findFlag(command as CommandName, flag)) problems.push(`${at}: armada ${command} has no flag --${flag}`);
      for (const spec of flagsFor(command as CommandName)) {
        if (spec.required && !flags.has(spec.name)) problems.push(`${at}: required flag --${spec.name} is missing`);
      }
      for (const env of container.env ?? []) {
        if (env.name.startsWith("ARMADA_") && !flagsFor(command as CommandName).some((f) => envNameOf(f.name) === env.name)) problems.push(`${at}: ${env.name} is not a flag of armada ${command}`);
      }
      if (container.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation must be false`);

      const ports = new Map<string, number>((container.ports ?? []).map((p: Doc) => [p.name, p.containerPort]));
      const expectPort = (flag: string, portName: string) => {
        const value = flags.get(flag);
        if (value === undefined) problems.push(`${at}: --${flag} is not set (its default does not suit a pod)`);
        else if (portOf(value) !== ports.get(portName)) problems.push(`${at}: --${flag}=${value} does not match container port ${portName} (${ports.get(portName)})`);
      };
      expectPort("api.address", "api");
      expectPort("rest.address", "rest");
      expectPort("raft.address", "raft");
      expectPort("maintenance.address", "maintenance");
      if (command === "leader") expectPort("replication.address", "replication");
      const rest = flags.get("rest.address");
      if (rest && parseListenAddress(rest).scheme === "http" && ["127.0.0.1", "localhost"].includes((parseListenAddress(rest) as { host: string }).host)) {
        problems.push(`${at}: --rest.address binds loopback; the kubelet's probes could not reach it`);
      }

      const members = (flags.get("raft.initial-members") ?? "").split(",").filter(Boolean);
      const expected = Array.from({ length: replicas }, (_, i) => `${i + 1}=${name}-${i}.${spec.serviceName}:${ports.get("raft")}`);
      if (members.join(",") !== expected.join(",")) problems.push(`${at}: --raft.initial-members=${members.join(",")}, expected ${expected.join(",")}`);
      if (flags.get("raft.address") !== `\${HOSTNAME}.${spec.serviceName}:${ports.get("raft")}`) problems.push(`${at}: --raft.address must be the pod's name in the headless service`);

      const restPort = ports.get("rest");
      const probe = (kind: string, path: string) => {
        const get = container[kind]?.httpGet;
        if (!get) problems.push(`${at}: no ${kind}`);
        else if (get.path !== path || (get.port !== "rest" && get.port !== restPort)) problems.push(`${at}: ${kind} must GET ${path} on the REST port`);
      };
      probe("livenessProbe", "/healthz");
      probe("readinessProbe", "/readyz");

      const mounts: string[] = (container.volumeMounts ?? []).filter((m: Doc) => (spec.volumeClaimTemplates ?? []).some((t: Doc) => t.metadata.name === m.name)).map((m: Doc) => m.mountPath);
      for (const dir of ["raft.node-host-dir", "raft.state-machine-dir"]) {
        const value = flags.get(dir);
        if (!value || !mounts.some((mount) => value === mount || value.startsWith(`${mount}/`))) problems.push(`${at}: --${dir} is not on a persistent volume`);
      }
    }
    for (const service of docs.filter((d) => d.kind === "Service" && matches(d.spec.selector, labels))) {
      const names = new Set(containers.flatMap((c: Doc) => (c.ports ?? []).map((p: Doc) => p.name)));
      for (const port of service.spec.ports) if (!names.has(port.targetPort)) problems.push(`${where}: service ${service.metadata.name} targets unknown port ${port.targetPort}`);
    }
  }
  for (const command of ["leader", "follower"]) if (!commandsSeen.has(command)) problems.push(`no ${command} cluster`);
  return problems;
}

test("the Kubernetes manifests hold up against the node's flags, ports and behaviour", () => {
  assert.deepEqual(manifestProblems(loadManifests()), []);
});

test("the command line of every pod loads and passes startup validation (shell variables filled in)", () => {
  // Proves the values, not only the names: types, the member map, addresses, membership rules.
  for (const set of loadManifests().filter((d) => d.kind === "StatefulSet")) {
    for (const container of set.spec.template.spec.containers) {
      const { command, flags } = commandLine(container);
      for (let ordinal = 0; ordinal < set.spec.replicas; ordinal++) {
        const hostname = `${set.metadata.name}-${ordinal}`;
        const argv = [...flags].map(([name, value]) => `--${name}=${value.replace("$((${HOSTNAME##*-}+1))", String(ordinal + 1)).replaceAll("${HOSTNAME}", hostname)}`);
        assert.ok(argv.every((arg) => !arg.includes("$")), `every shell variable is known: ${argv.join(" ")}`);
        const config = loadConfig(command as CommandName, argv, {}, { searchDirs: [] });
        assert.doesNotThrow(() => validateStartup(command as "leader" | "follower", config), `${hostname}: ${argv.join(" ")}`);
        assert.equal(config.values["raft.node-id"], ordinal + 1);
      }
    }
  }
});

test("the manifest checker finds broken manifests", () => {
  // Proves the checks above can fail: each mutation of a good manifest is reported.
  const broken = loadManifests();
  const set = broken.find((d) => d.kind === "StatefulSet" && d.metadata.name === "armada-leader");
  const container = set.spec.template.spec.containers[0];
  container.args = [String(container.args[0]).replace("--rest.address=http://0.0.0.0:8080", "--rest.address=http://127.0.0.1:9090 --api.no-such-flag=1")];
  container.readinessProbe.httpGet.path = "/healthz";
  set.spec.podManagementPolicy = "OrderedReady";
  set.spec.template.spec.securityContext.runAsNonRoot = false;
  const problems = manifestProblems(broken).join("\n");
  for (const expected of [/no flag --api.no-such-flag/, /--rest.address=http:\/\/127.0.0.1:9090 does not match container port rest/, /binds loopback/,
    /readinessProbe must GET \/readyz/, /podManagementPolicy must be Parallel/, /non-root/]) {
    assert.match(problems, expected);
  }
});

test("the Dockerfile is multi-stage, runs as non-root and starts armada", () => {
  const dockerfile = readFileSync(`${REPO}Dockerfile`, "utf8");
  const instructions = dockerfile.split("\n").filter((line) => /^[A-Z]+\s/.test(line));
  const stages = instructions.filter((line) => line.startsWith("FROM "));
  assert.ok(stages.length >= 2, "a build stage and a runtime stage");
  const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));
  const user = runtime.filter((line) => line.startsWith("USER ")).at(-1);
  assert.ok(user, "the runtime stage sets USER");
  assert.doesNotMatch(user, /^USER\s+(root|0)(:|\s|$)/);
  assert.ok(runtime.some((line) => /^ENTRYPOINT .*bin\/armada\.js/.test(line)), "the entry point is the armada command");
  assert.ok(!runtime.some((line) => /devDependencies|npm (ci|install)(?!.*--omit=dev)/.test(line)), "no dev install in the runtime stage");
  // The ports the manifests use are the image's documented ones.
  const exposed = new Set(runtime.filter((line) => line.startsWith("EXPOSE ")).flatMap((line) => line.split(/\s+/).slice(1).map(Number)));
  for (const doc of loadManifests().filter((d) => d.kind === "StatefulSet")) {
    for (const port of doc.spec.template.spec.containers[0].ports) assert.ok(exposed.has(port.containerPort), `port ${port.containerPort} is exposed`);
  }
});
