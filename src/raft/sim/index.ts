/** Test support: the deterministic simulator and the manual test cluster. */
export { runSeed, runSeedWithTraceOnFailure, Simulation, FAULT_PHASE_TICKS_DEFAULT, type SimOptions, type SimResult } from './simulation.js';
export { SafetyChecker, SimViolation, type ViolationKind } from './checker.js';
export { TestCluster, storageWithLog, type TestClusterOptions, type TestNode } from './harness.js';
export { drawParams, type Regime, type SimParams } from './params.js';
export { addResult, emptySummary, formatSummary, mergeSummary, type SimSummary } from './summary.js';
