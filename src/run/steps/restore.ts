/**
 * Creates the Restore and waits for the operator to finish it. The operator never marks a Restore
 * failed (it retries an error forever), so the wait has its own deadline, and a timeout reports
 * the Restore's conditions and the operator's log.
 */
import { interpretRestore } from '../../facts/restore-status.js'
import { parseJson } from '../../facts/parsers.js'
import { isAlreadyExists } from '../../kube/command-runner.js'
import * as cmd from '../../kube/commands.js'
import { restoreManifest } from '../../kube/manifests.js'
import {
  BACKUP_NAMESPACE,
  OPERATOR_LOG_SELECTOR,
  RESTORE_CRD,
  restoreLabels,
  restorePrefix
} from '../../kube/names.js'
import { adoptableRestore, removesWebhook } from '../../decide/preflight.js'
import { defineStep, StepFailure, type PlanInput } from '../step.js'

/** Enough to reach back past a retry's whole pass to the error that caused it. */
const OPERATOR_LOG_LINES = 1000

/**
 * After cleanup there is nothing to prune and pruning would fight the freshly installed operator:
 * the migration procedure the docs prescribe restores with prune: false.
 */
function restorePrune({ decision, settings }: PlanInput): boolean {
  return decision.procedure === 'cleanup-and-reinstall' ? false : settings.prune
}

/** The operator logs through logrus with ForceColors: its lines carry ANSI colour codes. */
export function operatorLogLines(text: string, tail = SHOWN_LOG_LINES): string[] {
  // eslint-disable-next-line no-control-regex
  const ansi = /\x1b\[[0-9;]*[A-Za-z]/g
  const lines = text
    .split('\n')
    .map(line => line.replace(ansi, '').trimEnd())
    .filter(line => line.trim() !== '')
  // A retrying Restore logs a whole pass of INFO lines after its error: the error that explains it
  // (e.g. an admission webhook's denial) would fall out of the tail.
  const shown = lines.slice(-tail)
  const earlier = new Map<string, string>()
  for (const line of lines.slice(0, -tail)) {
    if (!ERROR_LINE.test(line)) continue
    const key = line.replace(TIMESTAMP, '')
    earlier.delete(key)
    earlier.set(key, line)
  }
  const errors = [...earlier.values()].slice(-EARLIER_ERRORS)
  return errors.length > 0 ? [...errors, '…', ...shown] : shown
}

const SHOWN_LOG_LINES = 40
const EARLIER_ERRORS = 5
/** logrus text (`ERRO[2006/01/02 15:04:05]`, after kubectl's `--prefix`) or logfmt. */
const ERROR_LINE = /(?:^|\] )(?:ERRO|FATA)\[|level=(?:error|fatal)/
const TIMESTAMP = /\[\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\]|time="[^"]*"|^\[pod\/[^\]]*\] /g

/**
 * A Restore an earlier run of the same move completed from the same backup. Never on the cleanup
 * path: a run there restores either after running rancher-cleanup itself (which deletes every
 * cattle.io CRD, the Restores with them, and all that they restored) or on a Restore still in
 * flight that it adopts; what an earlier run's Restore put back is gone either way.
 */
export function completedEarlier({ decision, facts }: PlanInput) {
  if (decision.procedure === 'cleanup-and-reinstall') return undefined
  return facts.restores.find(
    r =>
      r.completed &&
      r.backupFilename === facts.backup.filename &&
      r.name.startsWith(restorePrefix(decision.from, decision.to))
  )
}

/** The Restore this run waits on: an earlier run's still in flight, or the one it creates. */
function restoreTarget(input: PlanInput): { name: string; adopted: boolean } {
  const adopted = adoptableRestore(input.decision, input.facts)
  return adopted
    ? { name: adopted.name, adopted: true }
    : { name: input.restoreName, adopted: false }
}

export const restore = defineStep({
  id: 'restore',
  title: input => {
    const { name, adopted } = restoreTarget(input)
    const backup = input.facts.backup.filename || '(backup)'
    return adopted
      ? `Adopt Restore ${name} of ${backup}, which an earlier run of this move created and the operator is still working on, and wait for Ready=True "Completed" (no new Restore)`
      : `Restore ${backup} with Restore ${name} (prune: ${restorePrune(input)}) and wait for Ready=True "Completed"`
  },
  commands: (input, limits) => {
    const { name, adopted } = restoreTarget(input)
    const manifest = restoreManifest({
      name,
      backupFilename: input.facts.backup.filename,
      s3: input.settings.s3,
      prune: restorePrune(input),
      encryptionConfigSecretName: input.settings.encryptionConfigSecretName,
      labels: restoreLabels(input.decision.from, input.decision.to)
    })
    return {
      ...(adopted
        ? {}
        : {
            create: cmd.createFromStdin(
              `Restore ${name} of ${input.facts.backup.filename} (prune: ${restorePrune(input)})`,
              JSON.stringify(manifest)
            )
          }),
      wait: cmd.waitRestoreReady(
        name,
        limits.limit(input.settings.restoreTimeoutMs, 'the Restore finished')
      ),
      read: cmd.getRestore(name),
      operatorLog: cmd.operatorLogs(OPERATOR_LOG_LINES)
    }
  },
  async run(ctx, c, limits) {
    const { name, adopted } = restoreTarget(ctx)
    const done = adopted ? undefined : completedEarlier(ctx)
    if (done) {
      ctx.report.restoreName = done.name
      ctx.report.restoreConditions = done.conditions
      return `Restore ${done.name} of ${done.backupFilename} already Completed by an earlier run: not re-created`
    }

    ctx.report.restoreName = name
    if (c.create !== undefined) {
      try {
        await ctx.runner.run(c.create)
      } catch (e) {
        // A create retried after a transient error may already have gone through: the name is ours.
        if (!isAlreadyExists(e)) throw e
      }
    }
    const waitS = Math.round(limits.limit(ctx.settings.restoreTimeoutMs, 'the Restore') / 1000)
    const waited = await ctx.group(
      `Waiting for Restore ${name}${adopted ? ' (adopted from an earlier run)' : ''} (up to ${waitS}s)`,
      () => ctx.runner.run(c.wait)
    )
    const status = interpretRestore(parseJson((await ctx.runner.run(c.read)).stdout, 'restore'))
    ctx.report.restoreConditions = status.conditions
    if (waited.exitCode === 0 && status.state === 'completed') {
      return adopted
        ? `adopted Restore ${name}, created by an earlier run of this move: Completed`
        : `Restore ${name} Completed`
    }

    ctx.report.operatorLog = operatorLogLines((await ctx.runner.run(c.operatorLog)).stdout)
    const state =
      status.state === 'error'
        ? `the operator reports an error and keeps retrying: ${status.message}`
        : 'the operator has not finished it'
    const denied = deniedBy([status.message, ...ctx.report.operatorLog])
    const admission = denied
      ? ` Admission webhook "${denied}" denied restored objects` +
        (ctx.settings.keepRancherWebhook && denied.startsWith('rancher.cattle.io')
          ? ' (backup-restore-operator#844): rancher-webhook stayed running because keep-rancher-webhook is true; delete the Restore and run again without it.'
          : '.')
      : ''
    throw new StepFailure(
      `Restore ${name}${adopted ? ' (adopted from an earlier run)' : ''} did not complete within ${waitS}s: ${state}.${admission}`,
      `Read the operator log (kubectl -n ${BACKUP_NAMESPACE} logs -l ${OPERATOR_LOG_SELECTOR}), fix the cause, delete the Restore (kubectl delete ${RESTORE_CRD} ${name}) and re-run. Rancher may be scaled to 0 until a Restore completes${removesWebhook(ctx.decision, ctx.settings) ? '; rancher-webhook is uninstalled until Rancher runs again and reinstalls it' : ''}.`
    )
  }
})

/** The admission webhook that refused a restored object, from the operator's messages. */
export function deniedBy(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const m = /admission webhook \\?"([^"\\]+)\\?" denied the request/.exec(line)
    if (m) return m[1]
  }
  return undefined
}
