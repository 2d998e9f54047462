/**
 * The child process of crash.test.ts (not a test itself): opens the logdb in the directory given as
 * argument, then saves single entries from several concurrent writers for three groups, with periodic
 * snapshots and compactions, and prints "ack <group> <index> <term>" after each save resolves, until
 * it is killed. Entry data is derived from (group, index, term) so the parent can check it.
 */
import { pathToFileURL } from 'node:url';
import { openLogDB } from './index.js';

const GROUPS = [1, 2, 3];
const WRITERS_PER_GROUP = 3;
const COMPACT_EVERY_ENTRIES = 300;
const KEEP_ENTRIES = 100;

/** The data the entry (group, index, term) carries. */
export function crashPayload(groupId: number, index: number, term: number): Uint8Array {
  return new TextEncoder().encode(`g${groupId}-i${index}-t${term}-`.padEnd(48, 'x'));
}

async function main(dir: string): Promise<void> {
  const { logdb, recovered } = await openLogDB({ dir, segmentBytesTarget: 64 * 1024 });
  const term = Math.max(...GROUPS.map((g) => logdb.storage(g).initialState().hardState.term)) + 1;
  process.stdout.write(`ready ${JSON.stringify(recovered)}\n`);
  const writer = async (groupId: number): Promise<void> => {
    const view = logdb.storage(groupId);
    for (;;) {
      // The view already shows saves still in flight, so concurrent writers take consecutive indices.
      const index = view.lastIndex() + 1;
      const entry = { term, index, type: 'normal' as const, data: crashPayload(groupId, index, term) };
      await logdb.save([{ groupId, entries: [entry], hardState: { term, vote: 1, commit: index - 1 } }]);
      process.stdout.write(`ack ${groupId} ${index} ${term}\n`);
      if (index % COMPACT_EVERY_ENTRIES === 0) {
        const upTo = index - KEEP_ENTRIES;
        if (upTo > view.snapshot().metadata.index) {
          await logdb.createSnapshot(groupId, { index: upTo, confState: { voters: [1], learners: [] } });
          await logdb.compact(groupId, upTo);
        }
      }
    }
  };
  await Promise.all(GROUPS.flatMap((g) => Array.from({ length: WRITERS_PER_GROUP }, () => writer(g))));
}

// Runs only as a script (crash.test.ts imports crashPayload from this module).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2] ?? '.').catch((error: unknown) => {
    process.stderr.write(`crash-child failed: ${String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  });
}
