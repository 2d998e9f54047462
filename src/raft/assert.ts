import { InvariantError } from './errors.js';

/**
 * Throws InvariantError when `condition` is false. Assertions stay on in production: continuing after a
 * broken invariant could corrupt replicated state. Pass a closure so the message is built only on failure.
 */
export function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) {
    throw new InvariantError(message());
  }
}
