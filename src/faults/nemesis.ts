/**
 * The nemesis: injects one fault at a time on a seeded schedule, holds it, heals it, waits, and goes on.
 * Fault kinds are drawn in rounds (every kind once per round, in a seeded random order), so even a short run
 * covers all of them.
 */
import { ArmadaClient } from "../client/index.js";
import type { SeededRandom } from "../raft/prng.js";
import type { CutStyle } from "./proxy.js";
import type { FaultCluster } from "./cluster.js";
import type { HistoryRecorder } from "./history.js";
import { sleep } from "./workload.js";

export const FAULT_KINDS = [
  "partition-one-way", // one directed link cut: A cannot reach B, B still reaches A
  "partition-isolate", // one node cut off from all others, both directions
  "partition-split", // a minority cut off from the majority, both directions
  "link-loss", // some links lose chunks (their connections break)
  "link-delay", // every link delays its traffic
  "kill", // SIGKILL one node (often the table's leader), restart it later
  "kill-all", // SIGKILL every node, restart them all later
  "pause", // SIGSTOP one node (often the leader), SIGCONT later
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** Kinds that act on the network only; the others act on processes. The two sets can run at the same time. */
export const NETWORK_KINDS: readonly FaultKind[] = ["partition-one-way", "partition-isolate", "partition-split", "link-loss", "link-delay"];

export interface NemesisOptions {
  readonly kinds: readonly FaultKind[];
  /** How long a fault is held, [min, max] ms. */
  readonly faultMs: readonly [number, number];
  /** How long the system runs without a fault in between, [min, max] ms. */
  readonly quietMs: readonly [number, number];
  /** Keep going past the deadline until every kind was injected once (short runs must cover them all). */
  readonly coverAllKinds?: boolean;
  /** The table whose leader is a preferred target. */
  readonly table: string;
  readonly log: (line: string) => void;
}

export class Nemesis {
  readonly counts: Record<string, number> = {};
  private round: FaultKind[] = [];
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(private readonly cluster: FaultCluster, private readonly recorder: HistoryRecorder, private readonly random: SeededRandom, private readonly options: NemesisOptions) {}

  /** Injects faults until `deadline` (ms on the recorder's clock) or `stop()`; every fault is healed on return. */
  async run(deadline: number): Promise<void> {
    const goOn = () => !this.stopped && (this.recorder.now() < deadline || (!!this.options.coverAllKinds && this.uncovered() > 0));
    while (goOn()) {
      await this.rest(this.random.intBetween(...this.options.quietMs));
      if (!goOn()) break;
      const kind = this.nextKind();
      const hold = Math.min(this.random.intBetween(...this.options.faultMs), Math.max(500, deadline - this.recorder.now()));
      this.counts[kind] = (this.counts[kind] ?? 0) + 1;
      const heal = await this.inject(kind);
      await this.rest(hold);
      await heal();
    }
  }

  private uncovered(): number {
    return this.options.kinds.filter((kind) => !this.counts[kind]).length;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Heals the network, resumes paused nodes and restarts killed ones. */
  async healEverything(): Promise<void> {
    this.cluster.healNetwork();
    await this.restartWithRetries(() => this.cluster.healNodes(), "heal");
  }

  private nextKind(): FaultKind {
    if (this.round.length === 0) this.round = shuffle(this.random, this.options.kinds);
    return this.round.pop()!;
  }

  /** Applies a fault and returns the function that heals it. */
  private async inject(kind: FaultKind): Promise<() => Promise<void>> {
    const ids = this.cluster.ids;
    const style: CutStyle = this.random.chance(0.5) ? "reset" : "blackhole";
    switch (kind) {
      case "partition-one-way": {
        const from = this.random.pick(ids);
        const to = this.random.pick(ids.filter((id) => id !== from));
        this.cluster.link(from, to).cut(style);
        return this.started(kind, `${from}→${to} cut (${style})`);
      }
      case "partition-isolate": {
        const node = await this.chooseNode();
        for (const peer of ids) {
          if (peer === node) continue;
          this.cluster.link(node, peer).cut(style);
          this.cluster.link(peer, node).cut(style);
        }
        return this.started(kind, `node ${node} isolated (${style})`);
      }
      case "partition-split": {
        const shuffled = shuffle(this.random, ids);
        const minority = shuffled.slice(0, this.random.intBetween(1, Math.floor((ids.length - 1) / 2)));
        const majority = ids.filter((id) => !minority.includes(id));
        for (const a of minority) {
          for (const b of majority) {
            this.cluster.link(a, b).cut(style);
            this.cluster.link(b, a).cut(style);
          }
        }
        return this.started(kind, `{${minority.join(",")}} | {${majority.join(",")}} (${style})`);
      }
      case "link-loss": {
        const links = this.cluster.links.filter(() => this.random.chance(0.5));
        if (links.length === 0) links.push(this.random.pick(this.cluster.links));
        const rate = 0.02 + this.random.nextFloat() * 0.1;
        for (const link of links) link.setLoss(rate);
        return this.started(kind, `${links.map((l) => l.label).join(" ")} lose ${(rate * 100).toFixed(0)}% of chunks`);
      }
      case "link-delay": {
        const delay = this.random.intBetween(10, 150);
        const jitter = this.random.intBetween(0, 60);
        for (const link of this.cluster.links) link.setDelay(delay, jitter);
        return this.started(kind, `every link delayed ${delay}+${jitter} ms`);
      }
      case "kill": {
        const node = await this.chooseNode();
        await this.cluster.kill(node);
        return this.started(kind, `node ${node} SIGKILLed`, () => this.restartWithRetries(() => this.cluster.startNode(node), `restart ${node}`));
      }
      case "kill-all": {
        await Promise.all(ids.map((id) => this.cluster.kill(id)));
        return this.started(kind, `every node SIGKILLed`, () => this.restartWithRetries(() => this.cluster.healNodes(), "restart all"));
      }
      case "pause": {
        const node = await this.chooseNode();
        this.cluster.pause(node);
        return this.started(kind, `node ${node} SIGSTOPped`, async () => this.cluster.resume(node));
      }
    }
  }

  /** Records the start and returns the heal, which by default heals the whole network. */
  private started(kind: FaultKind, detail: string, heal: () => Promise<void> = async () => this.cluster.healNetwork()): () => Promise<void> {
    this.recorder.fault(kind, "start", detail);
    this.options.log(`fault ${kind}: ${detail}`);
    return async () => {
      await heal();
      this.recorder.fault(kind, "heal", detail);
      // A node that died by itself (a bug, reported by the checks) comes back, so the run goes on with all nodes.
      await this.restartWithRetries(() => this.cluster.restartCrashed(), "restart crashed nodes");
    };
  }

  /** The table's leader two times in three (the interesting target), otherwise a random running node. */
  private async chooseNode(): Promise<number> {
    const running = this.cluster.ids.filter((id) => this.cluster.isRunning(id) && !this.cluster.isPaused(id));
    if (running.length > 0 && this.random.chance(2 / 3)) {
      const leader = await this.leaderOf(this.random.pick(running));
      if (leader !== null) return leader;
    }
    return this.random.pick(running.length > 0 ? running : this.cluster.ids);
  }

  private async leaderOf(askNode: number): Promise<number | null> {
    const client = new ArmadaClient(this.cluster.target(askNode).apiAddress, { timeoutMs: 500 });
    try {
      const status = await client.status();
      const leader = Number(status.tables[this.options.table]?.leader ?? 0);
      return this.cluster.ids.includes(leader) ? leader : null;
    } catch {
      return null;
    } finally {
      client.close();
    }
  }

  private async restartWithRetries(action: () => Promise<void>, what: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await action();
        return;
      } catch (error) {
        this.options.log(`${what} failed (attempt ${attempt}): ${(error as Error).message.split("\n")[0]}`);
        if (attempt >= 5) throw error;
        await sleep(500);
      }
    }
  }

  /** Sleeps, but wakes at once on stop(). */
  private rest(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** A seeded Fisher–Yates shuffle. */
function shuffle<T>(random: SeededRandom, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
