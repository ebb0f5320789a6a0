/**
 * The decision stage: the table (decide.ts) picks the procedure, then the procedure's
 * preconditions (preflight.ts) are checked against the facts. Pure.
 */
import type { ClusterFacts } from '../facts/cluster-facts.js'
import type { Settings } from '../inputs/settings.js'
import { decide, type Decision, type ProceedDecision } from './decide.js'
import { preflight } from './preflight.js'
import { revisionVersion } from './versions.js'

/** The run stops before anything changed, saying what to do instead. */
export class Refusal extends Error {
  constructor(
    message: string,
    readonly instead: string
  ) {
    super(message)
    this.name = 'Refusal'
  }
}

export type Choice =
  | { kind: 'proceed'; decision: ProceedDecision; warnings: string[] }
  | { kind: 'refuse'; decision: Decision; reason: string; instead: string; warnings: string[] }

/**
 * End-to-end tests prove the decision matters by forcing the naive in-place path where the table
 * says cleanup-and-reinstall. An environment variable, never an input: a workflow cannot set it by
 * accident.
 */
export const FORCE_PROCEDURE_ENV = 'RANCHER_ROLLBACK_TEST_ONLY_FORCE_PROCEDURE'

export function choose(settings: Settings, facts: ClusterFacts, forced?: string): Choice {
  let decision = decide({
    target: settings.targetVersion,
    releaseExists: facts.release.exists,
    history: facts.release.history,
    capi: facts.capi,
    interrupted: facts.interrupted,
    restores: facts.restores,
    backupFilename: facts.backup.filename
  })
  const warnings: string[] = []
  if (forced === 'in-place' && decision.kind === 'proceed') {
    decision = forceInPlace(decision, facts)
    warnings.push(`${FORCE_PROCEDURE_ENV} is set: forcing the in-place procedure (testing only).`)
  }
  if (decision.kind === 'refuse') {
    return {
      kind: 'refuse',
      decision,
      reason: decision.reason,
      instead: decision.instead,
      warnings
    }
  }
  const check = preflight(decision, facts, settings)
  warnings.push(...check.warnings)
  if (!check.ok) {
    return { kind: 'refuse', decision, reason: check.reason, instead: check.instead, warnings }
  }
  return { kind: 'proceed', decision, warnings }
}

function forceInPlace(decision: ProceedDecision, facts: ClusterFacts): ProceedDecision {
  const revision = [...facts.release.history]
    .reverse()
    .find(r => revisionVersion(r) === decision.to)
  return {
    ...decision,
    procedure: 'in-place',
    rule: `FORCED in-place by ${FORCE_PROCEDURE_ENV} (testing only); the decision table chose ${decision.procedure}: ${decision.rule}`,
    rollbackRevision: revision?.revision
  }
}
