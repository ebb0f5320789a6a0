/**
 * Runs a procedure's steps in order. Each step's commands are planned again at its start, with
 * the limits left then, and the step runs through a runner that refuses anything else; the
 * report's records show the commands each step was allowed, and how it went.
 */
import type { CommandRunner } from '../kube/command-runner.js'
import type { StepRecord } from '../report/run-report.js'
import type { Budget } from './budget.js'
import { CancelledError } from './cancellation.js'
import { planStep, type PlannedStep } from './plan.js'
import { plannedRunner, type StepContext, type StepKind } from './step.js'

export function pendingRecords(plan: PlannedStep[], status: 'planned' | 'not-run'): StepRecord[] {
  return plan.map(s => ({
    id: s.id,
    title: s.title,
    status,
    durationMs: 0,
    detail: '',
    commands: s.commands
  }))
}

/**
 * Stops at the first failure (after the steps that always run) and rethrows it; `records` (the
 * report's own array, one per step) is updated in place so a summary written in `finally` shows
 * how far the run got.
 */
export async function executeSteps(
  steps: StepKind[],
  ctx: Omit<StepContext, 'runner'> & { runner: CommandRunner },
  budget: Budget,
  records: StepRecord[],
  clock: () => number = Date.now
): Promise<void> {
  let failure: unknown
  for (const [i, step] of steps.entries()) {
    if (failure === undefined && ctx.signal.aborted && !step.always) {
      failure = new CancelledError(`the run was cancelled before step ${step.id}`)
    }
    if (failure !== undefined && !step.always) continue
    const record = records[i]!
    const started = clock()
    try {
      const limits = budget.at()
      const { planned, set, commands } = planStep(step, ctx, limits)
      record.commands = planned.commands
      ctx.log(`▶ ${planned.title}`)
      const checked = plannedRunner(ctx.runner, step.id, commands)
      // What always runs (the lock release) still runs once the run is cancelled.
      const runner: CommandRunner = step.always
        ? { run: c => checked.run({ ...c, duringCancel: true }) }
        : checked
      record.detail = await step.run({ ...ctx, runner }, set, limits)
      record.status = 'succeeded'
      ctx.log(`✔ ${record.detail}`)
    } catch (e) {
      record.status = e instanceof CancelledError ? 'cancelled' : 'failed'
      record.detail = (e as Error).message
      failure ??= e
    } finally {
      record.durationMs = clock() - started
    }
  }
  if (failure !== undefined) throw failure
}
