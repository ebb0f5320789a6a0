/**
 * Which documented procedure applies (BRIEF.md decision table), as a pure function of the
 * target input and cluster facts. Preconditions of the chosen procedure live in preflight.ts.
 */
import type { CapiFacts, HelmRevision } from './cluster-facts.js'
import type { TargetVersion } from './settings.js'

export type Procedure = 'in-place' | 'cleanup-and-reinstall' | 'restore-only'

export interface ProceedDecision {
  kind: 'proceed'
  procedure: Procedure
  /** Current version C, no leading `v`. */
  from: string
  /** Target version T, no leading `v`. */
  to: string
  /** The table row (or evidence rule) that chose the procedure, in words. */
  rule: string
  /** The facts behind the rule, one sentence each. */
  reasons: string[]
  /** in-place: newest revision whose app version is T (helm rollback target). */
  rollbackRevision: number | undefined
}

export interface RefuseDecision {
  kind: 'refuse'
  /** '' when unknown (e.g. no release). */
  from: string
  to: string
  rule: string
  reason: string
  /** What the operator should do instead, concrete enough to act on. */
  instead: string
}

export type Decision = ProceedDecision | RefuseDecision

export interface DecisionInput {
  target: TargetVersion
  releaseExists: boolean
  history: HelmRevision[]
  capi: CapiFacts
}
