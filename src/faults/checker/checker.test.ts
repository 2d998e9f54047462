/**
 * The checkers must accept correct histories and, above all, reject broken ones: a stale read, a lost write, a
 * node whose serializable reads go back in time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkHistory } from "./index.js";
import { checkKey } from "./register.js";
import { checkLostWrites } from "./lost-writes.js";
import { checkMonotonicReads } from "./monotonic.js";
import { emptyHistory, linearizableHistory, op, put, read } from "./testkit.js";
import type { History } from "../history.js";

describe("linearizability checker (register with CAS)", () => {
  test("accepts a sequential history", () => {
    const ops = [
      put("a", [0, 1]),
      read("a", [2, 3]),
      op({ kind: "cas", expected: "a", value: "b", at: [4, 5], result: { succeeded: true } }),
      op({ kind: "cas", expected: "a", value: "c", at: [6, 7], result: { succeeded: false, value: "b" } }),
      read("b", [8, 9]),
    ];
    assert.equal(checkKey("r0", ops).verdict, "ok");
  });

  test("accepts a read concurrent with a write seeing either value", () => {
    for (const seen of ["a", "b"]) {
      const ops = [put("a", [0, 1]), put("b", [2, 10]), read(seen, [3, 4])];
      assert.equal(checkKey("r0", ops).verdict, "ok", `seeing ${seen}`);
    }
  });

  test("rejects a stale read (the write completed before the read began)", () => {
    const ops = [put("a", [0, 1]), put("b", [2, 3]), read("a", [4, 5])];
    const report = checkKey("r0", ops);
    assert.equal(report.verdict, "illegal");
    const text = report.explanation.join("\n");
    assert.match(text, /no linearization exists/);
    assert.match(text, /read\(r0\) ok = a/, "the explanation names the read that cannot be placed");
  });

  test("rejects two reads that see a concurrent write's value and then the old one", () => {
    // Both reads overlap the write, but once one read saw b, a later read may not see a again.
    const ops = [put("a", [0, 1]), put("b", [2, 20]), read("b", [3, 4]), read("a", [5, 6])];
    assert.equal(checkKey("r0", ops).verdict, "illegal");
  });

  test("rejects a read of a value nobody wrote", () => {
    const report = checkKey("r0", [put("a", [0, 1]), read("z", [2, 3])]);
    assert.equal(report.verdict, "illegal");
    assert.match(report.explanation.join("\n"), /no operation ever wrote/);
  });

  test("a write reported as not applied must not be seen", () => {
    const refused = op({ kind: "put", value: "x", at: [2, 3], outcome: "failed" });
    assert.equal(checkKey("r0", [put("a", [0, 1]), refused, read("a", [4, 5])]).verdict, "ok");
    assert.equal(checkKey("r0", [put("a", [0, 1]), refused, read("x", [4, 5])]).verdict, "illegal");
  });

  test("rejects a failed CAS whose read-back contradicts the compare", () => {
    const ops = [put("a", [0, 1]), op({ kind: "cas", expected: "a", value: "b", at: [2, 3], result: { succeeded: false, value: "a" } })];
    assert.equal(checkKey("r0", ops).verdict, "illegal");
  });

  test("rejects a CAS applied twice (the answer of its second application says failed, the value is its own)", () => {
    const ops = [put("a", [0, 1]), op({ kind: "cas", expected: "a", value: "b", at: [2, 3], result: { succeeded: false, value: "b" } })];
    const report = checkKey("r0", ops);
    assert.equal(report.verdict, "illegal");
    assert.match(report.explanation.join("\n"), /Applied twice: #\d+ cas\(r0, a → b\)/);
  });

  test("rejects a CAS that succeeded against a value that was already overwritten", () => {
    const ops = [put("a", [0, 1]), put("b", [2, 3]), op({ kind: "cas", expected: "a", value: "c", at: [4, 5], result: { succeeded: true } })];
    assert.equal(checkKey("r0", ops).verdict, "illegal");
  });

  test("an indeterminate write may take effect, late or never", () => {
    const lost = op({ kind: "put", value: "x", at: [2, 3], outcome: "indeterminate" });
    // Never took effect: later reads see the old value.
    assert.equal(checkKey("r0", [put("a", [0, 1]), lost, read("a", [10, 11])]).verdict, "ok");
    // Took effect long after the client gave up on it.
    assert.equal(checkKey("r0", [put("a", [0, 1]), lost, read("a", [10, 11]), read("x", [50, 51])]).verdict, "ok");
    // But once seen, it cannot be unseen.
    assert.equal(checkKey("r0", [put("a", [0, 1]), lost, read("x", [10, 11]), read("a", [50, 51])]).verdict, "illegal");
    // And it cannot take effect before it was invoked.
    const early = op({ kind: "put", value: "y", at: [20, 21], outcome: "indeterminate" });
    assert.equal(checkKey("r0", [put("a", [0, 1]), read("y", [10, 11]), early]).verdict, "illegal");
  });

  test("an indeterminate CAS is needed when its written value is observed, and then its compare must hold", () => {
    const cas = op({ kind: "cas", expected: "a", value: "b", at: [2, 3], outcome: "indeterminate" });
    assert.equal(checkKey("r0", [put("a", [0, 1]), cas, read("b", [5, 6])]).verdict, "ok");
    // The register held c, never a, when the CAS could have run: b cannot have been written.
    assert.equal(checkKey("r0", [put("c", [0, 1]), cas, read("b", [5, 6])]).verdict, "illegal");
  });

  test("accepts random linearizable histories with concurrency and unknown outcomes", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const history = linearizableHistory(seed, { clients: 5, opsPerClient: 60, keys: ["r0", "r1"] });
      const report = checkHistory(history);
      assert.deepEqual(report.violations, [], `seed ${seed}`);
      assert.deepEqual(report.inconclusive, [], `seed ${seed}`);
    }
  });

  test("a large history (10,000 operations on one key) is checked quickly", () => {
    const history = linearizableHistory(7, { clients: 8, opsPerClient: 1250, keys: ["r0"] });
    const started = Date.now();
    const report = checkHistory(history);
    assert.deepEqual(report.violations, []);
    assert.equal(report.keys[0]!.verdict, "ok");
    assert.ok(Date.now() - started < 20_000);
  });

  test("rejects random histories with one read made stale", () => {
    let caught = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const history = linearizableHistory(seed, { clients: 4, opsPerClient: 40, keys: ["r0"] });
      // Make a late read return the first value ever written, if it has since been overwritten by a completed put.
      const firstPut = history.ops.find((o) => o.kind === "put" && o.outcome === "ok")!;
      const overwrite = history.ops.find((o) => o.kind === "put" && o.outcome === "ok" && o.invokeMs > firstPut.completeMs)!;
      const late = history.ops.find((o) => o.kind === "read" && o.outcome === "ok" && o.invokeMs > overwrite.completeMs + 1);
      if (!late) continue;
      late.result = { value: firstPut.value!, revision: 0 };
      assert.equal(checkKey("r0", history.ops).verdict, "illegal", `seed ${seed}`);
      caught++;
    }
    assert.ok(caught >= 10);
  });
});

describe("durability audit", () => {
  const append = (key: string, value: string, outcome: "ok" | "indeterminate" | "failed" = "ok") =>
    op({ kind: "append", key, value, at: [0, 1], outcome });

  test("reports an acknowledged write missing at the end", () => {
    const history: History = emptyHistory();
    history.ops.push(append("a/1/1", "1.1"), append("a/1/2", "1.2"), append("a/1/3", "1.3", "indeterminate"));
    history.final = { appended: { "a/1/1": "1.1" }, converged: true, convergenceDetail: "" };
    const report = checkLostWrites(history);
    assert.equal(report.violations.length, 1);
    assert.match(report.violations[0]!, /lost write: .*append\(a\/1\/2, 1\.2\)/);
    assert.ok(checkHistory(history).violations.some((v) => v.startsWith("lost write")), "checkHistory reports it too");
  });

  test("accepts indeterminate writes both present and absent; reports phantoms", () => {
    const history: History = emptyHistory();
    history.ops.push(append("a/1/1", "1.1"), append("a/1/2", "1.2", "indeterminate"), append("a/1/3", "1.3", "indeterminate"));
    history.final = { appended: { "a/1/1": "1.1", "a/1/2": "1.2" }, converged: true, convergenceDetail: "" };
    assert.deepEqual(checkLostWrites(history).violations, []);
    history.final = { appended: { "a/1/1": "1.1", "a/9/9": "9.9" }, converged: true, convergenceDetail: "" };
    assert.match(checkLostWrites(history).violations[0]!, /phantom write: a\/9\/9/);
  });

  test("a missing final audit is itself a failure", () => {
    const history: History = emptyHistory();
    history.ops.push(append("a/1/1", "1.1"));
    history.final = { appended: null, converged: true, convergenceDetail: "" };
    assert.equal(checkLostWrites(history).violations.length, 1);
  });
});

describe("node crashes", () => {
  test("a node that exited by itself is a violation", () => {
    const history = emptyHistory();
    history.final = { appended: {}, converged: true, convergenceDetail: "" };
    assert.deepEqual(checkHistory(history).violations, []);
    history.crashes = [{ node: 2, atMs: 1234, exit: "code 1", output: "fatal error, exiting" }];
    assert.match(checkHistory(history).violations[0]!, /node 2 exited by itself \(code 1\) at 1234 ms[^]*fatal error, exiting/);
  });
});

describe("monotonic serializable reads", () => {
  const scan = (node: number, values: Record<string, string | null>, at: [number, number]) =>
    op({ kind: "scan", key: "", at, node, result: { values } });

  test("reports a node whose view goes back in time", () => {
    const history = emptyHistory();
    history.ops.push(
      put("a", [0, 1], { result: { revision: 5 } }),
      put("b", [2, 3], { result: { revision: 9 } }),
      scan(1, { r0: "b", r1: null }, [4, 5]),
      scan(1, { r0: "a", r1: null }, [6, 7]),
    );
    const report = checkMonotonicReads(history);
    assert.equal(report.violations.length, 1);
    assert.match(report.violations[0]!, /node 1 went back in time/);
  });

  test("accepts stale but monotonic views, different nodes at different points, and overlapping scans", () => {
    const history = emptyHistory();
    history.ops.push(
      put("a", [0, 1], { result: { revision: 5 } }),
      put("b", [2, 3], { result: { revision: 9 } }),
      scan(1, { r0: null, r1: null }, [4, 5]), // stale: fine
      scan(1, { r0: "a", r1: null }, [6, 7]),
      scan(2, { r0: "b", r1: null }, [6, 7]),
      scan(1, { r0: "b", r1: null }, [8, 20]),
      scan(1, { r0: "a", r1: null }, [9, 10]), // overlaps the scan that saw b: no order between them
      scan(3, { r0: "a", r1: null }, [30, 31]), // another node may lag
    );
    assert.deepEqual(checkMonotonicReads(history).violations, []);
  });

  test("compares header revisions when the server reports them", () => {
    const history = emptyHistory();
    history.ops.push(scan(2, {}, [0, 1]), scan(2, {}, [2, 3]));
    history.ops[0]!.result!.revision = 12;
    history.ops[1]!.result!.revision = 11;
    assert.match(checkMonotonicReads(history).violations[0]!, /reported revision 11 .* after 12/);
  });
});
