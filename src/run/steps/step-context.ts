/** What every step implementation gets: the run's data plus the one door to the cluster. */
import type { Budget } from '../budget.js'
import type { CommandRunner } from '../../kube/command-runner.js'
import type { PlanInput } from '../plan.js'
import type { RunReport } from '../../report/run-report.js'

/** The plan's own inputs, plus the live parts a step needs to carry it out. */
export interface StepContext extends PlanInput {
  runner: CommandRunner
  /** Lease holder identity of this run (repository, run id, attempt). */
  holder: string
  budget: Budget
  now: () => Date
  log: (line: string) => void
  /** Collapsible log group (core.group in the action). */
  group: <T>(name: string, fn: () => Promise<T>) => Promise<T>
  /** Steps record what the summary needs (restore conditions, values file, revision…). */
  report: RunReport
  /** Writes a file readable only by the runner's user (mode 0600). */
  writePrivateFile: (path: string, content: string) => Promise<void>
  readPrivateFile: (path: string) => Promise<string>
}

/** A step returns one line for the summary, e.g. "already Completed, not re-created". */
export type StepResult = string

export type StepImplementation = (ctx: StepContext) => Promise<StepResult>

/** A failure that knows the operator's next move. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly nextStep: string
  ) {
    super(message)
    this.name = 'StepFailure'
  }
}
