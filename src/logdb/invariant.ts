import { InvariantError } from '../raft/index.js';

/**
 * Throws the Raft core's InvariantError when `condition` is false. Assertions stay on in production: a
 * logdb that continues after a broken invariant may write a log that replays into a different state.
 */
export function assertInvariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantError(`logdb: ${message()}`);
}
