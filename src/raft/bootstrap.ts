import { encodeConfChange } from './confchange.js';
import type { Entry, HardState } from './types.js';

/** The log and hard state every initial member of a new group starts from. */
export interface BootstrapState {
  readonly entries: readonly Entry[];
  readonly hardState: HardState;
}

/**
 * The starting log of a brand-new group: one committed addVoter entry per initial member, at term 1.
 * Every initial member writes exactly the same entries, so their logs agree; a node that joins later
 * starts with an empty log and receives these entries (or a snapshot covering them) from the leader,
 * which is how it learns the membership. Write this into storage once, on first start only.
 */
export function bootstrapState(voters: readonly number[]): BootstrapState {
  const sorted = [...new Set(voters)].sort((a, b) => a - b);
  const entries: Entry[] = sorted.map((nodeId, i) => ({
    term: 1,
    index: i + 1,
    type: 'confChange',
    data: encodeConfChange({ type: 'addVoter', nodeId }),
  }));
  return { entries, hardState: { term: 1, vote: 0, commit: entries.length } };
}
