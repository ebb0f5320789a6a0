/**
 * Creates the Restore and waits for the operator to finish it. The operator never marks a Restore
 * failed (it retries an error forever), so the wait has its own deadline, and a timeout reports
 * the Restore's conditions and the operator's log.
 */
import { isAlreadyExists } from '../../kube/command-runner.js'
import * as cmd from '../../kube/commands.js'
import { parseJson } from '../../facts/parsers.js'
import { restorePrefix } from '../../kube/manifests.js'
import { restoreFor } from '../plan.js'
import { interpretRestore } from '../../facts/restore-status.js'
import { StepFailure, type StepContext } from './step-context.js'

const OPERATOR_LOG_LINES = 40

/** The operator logs through logrus with ForceColors: its lines carry ANSI colour codes. */
export function operatorLogLines(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  const ansi = /\x1b\[[0-9;]*[A-Za-z]/g
  return text
    .split('\n')
    .map(line => line.replace(ansi, '').trimEnd())
    .filter(line => line.trim() !== '')
}

export async function runRestore(ctx: StepContext, prune: boolean): Promise<string> {
  const { decision, facts } = ctx
  const done = facts.restores.find(
    r =>
      r.completed &&
      r.backupFilename === facts.backup.filename &&
      r.name.startsWith(restorePrefix(decision.from, decision.to))
  )
  if (done) {
    ctx.report.restoreName = done.name
    ctx.report.restoreConditions = done.conditions
    return `Restore ${done.name} of ${done.backupFilename} already Completed by an earlier run: not re-created`
  }

  ctx.report.restoreName = ctx.restoreName
  try {
    await ctx.runner.run(cmd.createFromStdin(restoreFor(ctx, prune)))
  } catch (e) {
    // A create retried after a transient error may already have gone through: the name is ours.
    if (!isAlreadyExists(e)) throw e
  }
  const waitMs = ctx.budget.limit(ctx.settings.restoreTimeoutMs, 'the Restore finished')
  const waited = await ctx.group(
    `Waiting for Restore ${ctx.restoreName} (up to ${Math.round(waitMs / 1000)}s)`,
    () => ctx.runner.run(cmd.waitRestoreReady(ctx.restoreName, waitMs))
  )
  const status = interpretRestore(
    parseJson((await ctx.runner.run(cmd.getRestore(ctx.restoreName))).stdout, 'restore')
  )
  ctx.report.restoreConditions = status.conditions
  if (waited.exitCode === 0 && status.state === 'completed') {
    return `Restore ${ctx.restoreName} Completed`
  }

  const logs = await ctx.runner.run(cmd.operatorLogs(OPERATOR_LOG_LINES))
  ctx.report.operatorLog = operatorLogLines(logs.stdout)
  const state =
    status.state === 'error'
      ? `the operator reports an error and keeps retrying: ${status.message}`
      : 'the operator has not finished it'
  throw new StepFailure(
    `Restore ${ctx.restoreName} did not complete within ${Math.round(waitMs / 1000)}s: ${state}.`,
    `Read the operator log (kubectl -n ${cmd.BACKUP_NAMESPACE} logs -l ${cmd.OPERATOR_LOG_SELECTOR}), fix the cause, delete the Restore (kubectl delete ${cmd.RESTORE_CRD} ${ctx.restoreName}) and re-run. Rancher may be scaled to 0 until a Restore completes.`
  )
}
