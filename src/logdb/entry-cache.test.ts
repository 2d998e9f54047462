import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '../raft/index.js';
import { EntryCache } from './entry-cache.js';
import { GroupState } from './group-state.js';

/** A group that counts how often the cache asks it whether an entry is still cached (the rebuild's work). */
class CountingGroupState extends GroupState {
  lookups = 0;
  override cachedEntry(index: number): Entry | undefined {
    this.lookups++;
    return super.cachedEntry(index);
  }
}

function fill(group: GroupState, count: number): void {
  for (let index = 1; index <= count; index++) {
    const entry: Entry = { index, term: 1, type: 'normal', data: new Uint8Array(16) };
    group.append(index, [1], { segment: 1, position: index * 64, length: 64 }, [entry]);
  }
}

test('compacting many cached entries costs work in proportion to them, not to their square', () => {
  // A compaction used to release each entry while the group still held it, so every release after the
  // first half found the admission queue "mostly stale", rebuilt it, and kept every entry: quadratic work
  // that blocked the event loop for about half a second at each log compaction (found in a CPU profile).
  const count = 20_000;
  const cache = new EntryCache(Number.MAX_SAFE_INTEGER, () => 0);
  const group = new CountingGroupState(1, cache);
  fill(group, count);
  group.compact(count - 10, 1);
  assert.ok(group.lookups <= 4 * count, `compaction looked up ${group.lookups} entries for ${count} released`);
  assert.equal(group.cachedEntry(count)?.index, count);
  assert.equal(group.cachedEntry(count - 10), undefined);
});

test('the cache keeps counting the bytes of what the groups still hold after compaction and truncation', () => {
  const cache = new EntryCache(Number.MAX_SAFE_INTEGER, () => 0);
  const group = new GroupState(1, cache);
  fill(group, 100);
  const perEntry = cache.bytes / 100;
  group.compact(40, 1);
  assert.equal(cache.bytes, 60 * perEntry);
  // A conflicting append at 91 drops 91…100 and caches the new entry.
  group.append(91, [2], { segment: 2, position: 0, length: 64 }, [{ index: 91, term: 2, type: 'normal', data: new Uint8Array(16) }]);
  assert.equal(cache.bytes, 51 * perEntry);
  group.dropLog();
  assert.equal(cache.bytes, 0);
});
