/** Everything the job summary and the outputs are rendered from. Filled in by main.ts as it goes. */
import type { ClusterFacts, HelmRevision, RestoreCondition } from '../facts/cluster-facts.js'
import type { Decision } from '../decide/decide.js'
import type { PlannedStep } from '../run/plan.js'

export type RunStatus = 'succeeded' | 'failed' | 'refused' | 'planned' | 'cancelled'

export type StepStatus = 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'planned' | 'not-run'

export interface StepRecord {
  id: string
  title: string
  status: StepStatus
  durationMs: number
  /** One line on what happened (e.g. "already Completed, not re-created"). */
  detail: string
  /** Redacted commands, for the plan and the summary. */
  commands: string[]
}

/** A command the API server failed for a while: retried until it answered or time ran out. */
export interface InterruptionRecord {
  /** The step it happened in, or the phase before the steps ("reading the cluster"). */
  during: string
  command: string
  error: string
  retries: number
  outageMs: number
  recovered: boolean
}

export interface RunReport {
  status: RunStatus
  /** Set once inputs are valid; absent when the run failed on inputs. */
  decision: Decision | undefined
  facts: ClusterFacts | undefined
  plan: PlannedStep[]
  steps: StepRecord[]
  restoreName: string
  restoreConditions: RestoreCondition[]
  /** API server outages the run rode out (or did not). */
  interruptions: InterruptionRecord[]
  /** Last lines of the backup operator's log when a Restore failed. */
  operatorLog: string[]
  historyBefore: HelmRevision[]
  historyAfter: HelmRevision[]
  helmRevision: number | undefined
  valuesFile: string
  followUps: string[]
  /** Error message for failed/refused runs (never holds secrets). */
  error: string
  /** What the operator should do next, when failed. */
  nextStep: string
  dryRun: boolean
  startedAt: Date
  finishedAt: Date | undefined
}

/** The report before anything is known: a run that stops here failed. */
export function emptyReport(now = new Date()): RunReport {
  return {
    status: 'failed',
    decision: undefined,
    facts: undefined,
    plan: [],
    steps: [],
    restoreName: '',
    restoreConditions: [],
    interruptions: [],
    operatorLog: [],
    historyBefore: [],
    historyAfter: [],
    helmRevision: undefined,
    valuesFile: '',
    followUps: [],
    error: '',
    nextStep: '',
    dryRun: false,
    startedAt: now,
    finishedAt: undefined
  }
}
