/** Runs a plan's steps in order, recording each one's status and duration as it goes. */
import { restorePrune, type PlannedStep, type StepId } from './plan.js'
import type { StepRecord } from '../report/run-report.js'
import { installBackupOperator, helmInstallRancher, helmRollback } from './steps/helm-steps.js'
import { runCleanup, verifyCleanup } from './steps/cleanup-steps.js'
import { acquireLock } from './steps/lock-step.js'
import { runRestore } from './steps/restore-step.js'
import {
  createS3Secret,
  forgetSaved,
  recreateSecrets,
  saveSecrets,
  saveValues
} from './steps/save-steps.js'
import type { StepContext, StepImplementation } from './steps/step-context.js'
import { verify } from './steps/verify-step.js'

const IMPLEMENTATIONS: Record<StepId, StepImplementation> = {
  lock: acquireLock,
  'create-s3-secret': createS3Secret,
  'save-values': saveValues,
  'save-secrets': saveSecrets,
  cleanup: runCleanup,
  'verify-cleanup': verifyCleanup,
  'install-backup-operator': installBackupOperator,
  'recreate-secrets': recreateSecrets,
  restore: ctx => runRestore(ctx, restorePrune(ctx.decision, ctx.settings)),
  'helm-rollback': helmRollback,
  'helm-install': helmInstallRancher,
  verify,
  'forget-saved': forgetSaved
}

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
 * Stops at the first failure and rethrows it; `records` (the report's own array) is updated in
 * place so a summary written in `finally` shows how far the run got.
 */
export async function executePlan(
  plan: PlannedStep[],
  ctx: StepContext,
  records: StepRecord[],
  clock: () => number = Date.now
): Promise<void> {
  records.splice(0, records.length, ...pendingRecords(plan, 'not-run'))
  for (const [i, step] of plan.entries()) {
    const record = records[i]!
    const started = clock()
    ctx.log(`▶ ${step.title}`)
    try {
      record.detail = await IMPLEMENTATIONS[step.id](ctx)
      record.status = 'succeeded'
      ctx.log(`✔ ${record.detail}`)
    } catch (e) {
      record.status = 'failed'
      record.detail = (e as Error).message
      throw e
    } finally {
      record.durationMs = clock() - started
    }
  }
}
