/**
 * A linearizability checker for one partition of a history (one key): the Wing & Gong search with Lowe's
 * memoisation, as popularised by Knossos and porcupine. Written from the algorithm's description.
 *
 * The history is a list of call and return events ordered by time. The search repeatedly takes the first event:
 * if it is a call, it tries to linearize that operation now (the model must accept it in the current state, and
 * the pair (set of linearized operations, new state) must not have been explored already); if it is a return,
 * the operation that returns has not been linearized yet although time has passed it, so the search backtracks.
 * The history is linearizable when every operation with a finite return has been linearized.
 *
 * Operations whose outcome is unknown have their return at +∞: they may be linearized at any point after their
 * call, or never (they are simply left over at the end).
 */

/** A sequential specification: `step` says whether `op` may happen in `state` and what state follows. */
export interface Model<S, O> {
  readonly init: S;
  step(state: S, op: O): { ok: boolean; state: S };
  /** A string identifying a state, for the memo of explored configurations. */
  key(state: S): string;
  describeState(state: S): string;
}

export interface TimedOp<O> {
  readonly op: O;
  readonly call: number;
  /** `Infinity` when the operation may take effect at any later time or never. */
  readonly ret: number;
}

export type Verdict = "ok" | "illegal" | "unknown";

export interface CheckResult<O> {
  readonly verdict: Verdict;
  /** For `illegal`: the longest linearization found, as (operation, state after it) pairs. */
  readonly longest: { op: O; after: string }[];
  /** For `illegal`: the operation whose return the longest linearization could not get past. */
  readonly blockedAt?: O;
  /** For `illegal`: the operations pending (called, not linearized) at that point. */
  readonly pendingAtBlock: O[];
  readonly steps: number;
}

interface Entry {
  readonly index: number; // operation index, 0..n-1 in call order
  readonly isCall: boolean;
  readonly time: number;
  match: Entry | null; // call ↔ return
  prev: Entry | null;
  next: Entry | null;
}

export interface CheckOptions {
  /** Give up (verdict `unknown`) after this many search steps. */
  readonly maxSteps?: number;
}

const DEFAULT_MAX_STEPS = 20_000_000;

export function checkLinearizable<S, O>(model: Model<S, O>, input: readonly TimedOp<O>[], options: CheckOptions = {}): CheckResult<O> {
  const ops = [...input].sort((a, b) => a.call - b.call);
  const n = ops.length;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const head = buildEntries(ops);

  const linearized = new Uint8Array(n);
  let lowWater = 0; // every operation below this index is linearized
  let highWater = -1; // the largest linearized index
  const memo = new Set<string>();
  const stack: { entry: Entry; state: S; lowWater: number; highWater: number }[] = [];
  let state = model.init;
  let steps = 0;
  let best: { ops: number[]; states: string[]; blocked: number; pending: number[] } | null = null;

  // The memo key: every index below lowWater is linearized, so only the window up to highWater needs spelling out.
  const configKey = (s: S): string => {
    let holes = "";
    for (let i = lowWater; i <= highWater; i++) if (!linearized[i]) holes += `${i},`;
    return `${lowWater}|${highWater}|${holes}|${model.key(s)}`;
  };

  let entry = head.next;
  while (entry !== null) {
    if (++steps > maxSteps) return { verdict: "unknown", longest: [], pendingAtBlock: [], steps };
    if (entry.isCall) {
      const timed = ops[entry.index]!;
      const next = model.step(state, timed.op);
      if (next.ok) {
        linearized[entry.index] = 1;
        const savedLow = lowWater;
        const savedHigh = highWater;
        if (entry.index > highWater) highWater = entry.index;
        while (lowWater < n && linearized[lowWater]) lowWater++;
        const key = configKey(next.state);
        if (!memo.has(key)) {
          memo.add(key);
          stack.push({ entry, state, lowWater: savedLow, highWater: savedHigh });
          state = next.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.index] = 0;
        lowWater = savedLow;
        highWater = savedHigh;
      }
      entry = entry.next;
      continue;
    }
    // A return event: its operation was not linearized before it returned.
    if (entry.time === Infinity) break; // only operations of unknown outcome remain: they never took effect
    if (best === null || stack.length > best.ops.length) best = snapshot(stack, state, entry, model);
    const top = stack.pop();
    if (!top) return illegal(ops, best);
    linearized[top.entry.index] = 0;
    lowWater = top.lowWater;
    highWater = top.highWater;
    state = top.state;
    unlift(top.entry);
    entry = top.entry.next;
  }
  return { verdict: "ok", longest: [], pendingAtBlock: [], steps };

  function snapshot(current: typeof stack, finalState: S, blockedEntry: Entry, m: Model<S, O>) {
    const states: string[] = [];
    for (let i = 1; i < current.length; i++) states.push(m.describeState(current[i]!.state));
    states.push(m.describeState(finalState));
    const pending: number[] = [];
    // The operations called before the blocking return: the only candidates for the next linearization point.
    for (let e = head.next; e !== null && e !== blockedEntry; e = e.next) if (e.isCall) pending.push(e.index);
    return { ops: current.map((c) => c.entry.index), states, blocked: blockedEntry.index, pending };
  }

  function illegal(all: TimedOp<O>[], found: typeof best): CheckResult<O> {
    const longest = found ? found.ops.map((index, i) => ({ op: all[index]!.op, after: found.states[i]! })) : [];
    return {
      verdict: "illegal",
      longest,
      ...(found ? { blockedAt: all[found.blocked]!.op } : {}),
      pendingAtBlock: found ? found.pending.map((i) => all[i]!.op) : [],
      steps,
    };
  }
}

/**
 * The events as a doubly linked list behind a sentinel head, ordered by time. At equal times calls come first,
 * so operations that touch at an instant count as concurrent (the permissive, false-alarm-free reading).
 */
function buildEntries<O>(ops: readonly TimedOp<O>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, index) => {
    const call: Entry = { index, isCall: true, time: op.call, match: null, prev: null, next: null };
    const ret: Entry = { index, isCall: false, time: op.ret, match: call, prev: null, next: null };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.index - b.index : a.isCall ? -1 : 1));
  const head: Entry = { index: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Removes an operation's call and return events from the list. */
function lift(call: Entry): void {
  const ret = call.match!;
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts them back (in the reverse order of lift, so the neighbours' links are restored exactly). */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}
