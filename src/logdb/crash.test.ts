import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { crashPayload } from './crash-child.js';
import { openLogDB } from './index.js';
import { makeTempDir, removeTempDir } from './testkit.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const ROUNDS = 4;
const ACKS_BEFORE_KILL_MIN = 300;

let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeTempDir(dir));

/** Acknowledged (index → term) per group. */
type Acks = Map<number, Map<number, number>>;

/** Runs the child until it has acknowledged enough saves, kills it with SIGKILL at a random moment, returns its acks. */
function runAndKill(seed: number): Promise<{ acks: Acks; count: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Acks = new Map();
    let count = 0;
    let stderr = '';
    let killAt: number | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, group, index, term] = line.split(' ');
      if (kind !== 'ack') return;
      const perGroup = acks.get(Number(group)) ?? new Map<number, number>();
      perGroup.set(Number(index), Number(term));
      acks.set(Number(group), perGroup);
      count++;
      if (count === ACKS_BEFORE_KILL_MIN) {
        // A pseudo-random extra delay so the kill lands anywhere in the write/fsync cycle.
        killAt = (seed * 7919) % 97;
        setTimeout(() => child.kill('SIGKILL'), killAt);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    // 'close' comes after stdout is drained: every ack the child printed has been read.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL' || killAt === undefined) reject(new Error(`child ended with ${code ?? signal}, ${count} acks\n${stderr}`));
      else resolve({ acks, count });
    });
  });
}

test('every acknowledged save survives kill -9 of the writing process', async () => {
  // Proves durability end to end on a real process: a child saves in a loop (group commit, rotation,
  // compaction) and prints each acknowledged index; after SIGKILL at a random moment, reopening shows
  // every acknowledged entry with its term and data, round after round on the same directory.
  const all: Acks = new Map();
  for (let round = 1; round <= ROUNDS; round++) {
    const { acks, count } = await runAndKill(round);
    assert.ok(count >= ACKS_BEFORE_KILL_MIN);
    for (const [group, perGroup] of acks) for (const [index, term] of perGroup) {
      const groupAcks = all.get(group) ?? new Map<number, number>();
      groupAcks.set(index, term);
      all.set(group, groupAcks);
    }
    const { logdb } = await openLogDB({ dir, segmentBytesTarget: 64 * 1024 });
    for (const [group, perGroup] of all) {
      const view = logdb.storage(group);
      const last = Math.max(...perGroup.keys());
      assert.ok(view.lastIndex() >= last, `round ${round}: group ${group} acknowledged ${last}, recovered up to ${view.lastIndex()}`);
      const first = view.firstIndex();
      const stored = view.entries(first, last + 1, Number.MAX_SAFE_INTEGER);
      for (const [index, term] of perGroup) {
        if (index < first) continue; // compacted after a snapshot covered it
        const entry = stored[index - first]!;
        assert.equal(entry.term, term, `round ${round}: group ${group} index ${index}`);
        assert.deepEqual(Uint8Array.from(entry.data), crashPayload(group, index, term));
      }
    }
    await logdb.close();
  }
});
