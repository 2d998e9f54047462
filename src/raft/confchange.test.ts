import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyToConfState, confChangeProblem, decodeConfChange, encodeConfChange } from './confchange.js';
import { InvariantError } from './errors.js';

describe('membership change encoding and rules', () => {
  it('round-trips through the entry encoding, including large ids and context', () => {
    // Proves: what the leader writes into the log is exactly what every node applies.
    const change = { type: 'addLearner' as const, nodeId: 2 ** 40 + 7, context: new Uint8Array([1, 2, 3]) };
    assert.deepEqual(decodeConfChange(encodeConfChange(change)), change);
    assert.deepEqual(decodeConfChange(encodeConfChange({ type: 'removeNode', nodeId: 3 })), { type: 'removeNode', nodeId: 3 });
  });

  it('malformed entries are an invariant failure, not a silent no-op', () => {
    // Proves: a corrupted conf change stops the group instead of diverging membership.
    assert.throws(() => decodeConfChange(new Uint8Array([9, 9])), InvariantError);
  });

  it('applies promotion, demotion and removal; refuses impossible changes', () => {
    // Proves: each change sets one node's status; the last voter cannot leave.
    const conf = { voters: [1, 2], learners: [3] };
    assert.deepEqual(applyToConfState(conf, { type: 'addVoter', nodeId: 3 }), { voters: [1, 2, 3], learners: [] });
    assert.deepEqual(applyToConfState(conf, { type: 'addLearner', nodeId: 2 }), { voters: [1], learners: [2, 3] });
    assert.deepEqual(applyToConfState(conf, { type: 'removeNode', nodeId: 3 }), { voters: [1, 2], learners: [] });
    assert.match(confChangeProblem({ voters: [1], learners: [] }, { type: 'removeNode', nodeId: 1 })!, /only voter/);
    assert.match(confChangeProblem(conf, { type: 'addVoter', nodeId: 1 })!, /already a voter/);
    assert.match(confChangeProblem(conf, { type: 'addVoter', nodeId: 0 })!, /positive integer/);
  });
});
