import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { affinityOf, formatCpuList, parseCpuList, splitCpus, withAffinity } from "./cpu-affinity.js";

/** Each thread's allowed CPUs by thread id, from /proc (what the kernel enforces, not what taskset says). */
function threadAffinities(pid: number): Map<number, string> {
  return new Map(readdirSync(`/proc/${pid}/task`).map((tid) => [Number(tid), /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"))![1]!]));
}

/** A Node child (several threads: V8's helpers and libuv's) that idles until killed. */
async function idleNodeChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "console.log('up'); setInterval(() => {}, 1000)"], { stdio: ["ignore", "pipe", "ignore"] });
  await new Promise((resolve) => child.stdout!.once("data", resolve));
  return child;
}

test("CPU lists parse as Linux writes them and format back", () => {
  assert.deepEqual(parseCpuList("0,1"), [0, 1]);
  assert.deepEqual(parseCpuList("0-3,6\n"), [0, 1, 2, 3, 6]);
  assert.deepEqual(parseCpuList("5,2-3,2"), [2, 3, 5]);
  assert.equal(formatCpuList([0, 2, 3]), "0,2,3");
  assert.throws(() => parseCpuList("0-"), /not a CPU list/);
  assert.throws(() => parseCpuList("3-1"), /not a CPU list/);
  assert.throws(() => parseCpuList(""), /not a CPU list/);
});

test("the generator gets the last allowed core and the servers the others; one core cannot be split", () => {
  assert.deepEqual(splitCpus([0, 1]), { generator: [1], servers: [0] });
  assert.deepEqual(splitCpus([0, 2, 3, 5]), { generator: [5], servers: [0, 2, 3] });
  assert.equal(splitCpus([4]), null);
  assert.equal(splitCpus([]), null);
});

test("withAffinity holds a process's main thread, and only it, to the given cores during the work and gives the old affinity back", async () => {
  const child = await idleNodeChild();
  try {
    const pid = child.pid!;
    const before = affinityOf(pid);
    assert.ok(before && before.length >= 1, "taskset reads the child's affinity");
    const target = [before[0]!];
    const threads = threadAffinities(pid);
    assert.ok(threads.size > 1, "a Node process has helper threads");
    const seen = await withAffinity([pid], target, async () => threadAffinities(pid));
    assert.equal(seen.get(pid), formatCpuList(target), "the main thread is held during the work");
    for (const [tid, list] of seen) if (tid !== pid) assert.deepEqual(parseCpuList(list), before, `helper thread ${tid} is left where it was`);
    assert.deepEqual(affinityOf(pid), before);
    for (const list of threadAffinities(pid).values()) assert.deepEqual(parseCpuList(list), before, "every thread has its affinity back");
  } finally {
    child.kill("SIGKILL");
  }
});

test("withAffinity gives the affinity back when the work fails, and leaves out a process that is gone", async () => {
  const child = await idleNodeChild();
  const gone = spawn(process.execPath, ["-e", ""]);
  await new Promise((resolve) => gone.once("exit", resolve));
  try {
    const pid = child.pid!;
    const before = affinityOf(pid)!;
    await assert.rejects(withAffinity([gone.pid!, pid], [before[0]!], async () => {
      assert.deepEqual(affinityOf(pid), [before[0]]);
      throw new Error("run failed");
    }), /run failed/);
    assert.deepEqual(affinityOf(pid), before);
  } finally {
    child.kill("SIGKILL");
  }
});
