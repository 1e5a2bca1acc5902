// What an operation row holds that every layer reads: the plan it runs (fixed at accept time) and
// where it failed. One definition, shared by the use cases, the engine and the store.
import type { OperationPlan } from './plan.js';

/** What an operation's plan column holds. */
export interface StoredPlan extends OperationPlan {
  /** Scale-in: the nodes to take away, by name. */
  removeNodes?: string[];
}

/**
 * Journal entries that record when a phase's deadline clock started (engine/runner.ts), so a
 * resumed operation keeps its deadline. Bookkeeping, not steps: views leave them out.
 */
export const DEADLINE_MARK = 'deadline:';
export const isDeadlineMark = (name: string): boolean => name.startsWith(DEADLINE_MARK);

/** Where and why an operation failed, for the user. */
export interface OperationError {
  phase: string;
  node?: string;
  service?: string;
  message: string;
  /** Excerpt of the failing command's output. */
  output?: string;
}
