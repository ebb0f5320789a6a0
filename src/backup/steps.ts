/**
 * The companion's steps, run from the plan's commands: create the one-time Backup (unless an
 * earlier attempt's is adopted), wait for it by watch, then prove the file is in S3 and is this
 * cluster's. The operator never marks a Backup failed (it retries an error forever,
 * backup-restore-operator pkg/controllers/backup/controller.go setReconcilingCondition), so the
 * wait has the run's deadline, and an error that persists for ERROR_GRACE_MS ends it early with
 * the operator's message and log.
 */
import { parseBackupFilename, objectKey } from '../facts/backup-selection.js'
import { S3_TIMEOUT_MS, s3Target, type S3Reader } from '../facts/gather.js'
import { parseJson } from '../facts/parsers.js'
import { CommandError, isAlreadyExists, type CommandRunner } from '../kube/command-runner.js'
import { BACKUP_NAMESPACE, OPERATOR_LOG_SELECTOR } from '../kube/names.js'
import { info } from '../report/log.js'
import type { StepRecord } from '../report/run-report.js'
import type { Budget } from '../run/budget.js'
import { StepFailure } from '../run/step.js'
import { operatorLogLines } from '../run/steps/restore.js'
import { parseBackup, type BackupFacts, type ExistingBackup } from './facts.js'
import { BACKUP_CRD } from './names.js'
import { backupCommands, s3Proof, WAIT_ROUND_MS, type ProceedBackup } from './plan.js'
import type { BackupReport } from './report.js'
import type { BackupSettings } from './settings.js'

/** An error the Backup still reports after this long is taken as the answer. */
export const ERROR_GRACE_MS = 60_000

export interface BackupContext {
  settings: BackupSettings
  decision: ProceedBackup
  facts: BackupFacts
  runner: CommandRunner
  s3: Pick<S3Reader, 'headObject'>
  budget: Budget
  now: () => Date
  signal: AbortSignal
  report: BackupReport
}

/**
 * The wait's verdict after one round (pure): done, keep waiting, or give up on an error the
 * operator has reported since `errorSince` (epoch ms; undefined: no error seen).
 */
export function waitVerdict(
  backup: ExistingBackup,
  errorSince: number | undefined,
  now: number
): { verdict: 'completed' | 'waiting' | 'error'; errorSince: number | undefined } {
  if (backup.state === 'completed' && backup.filename !== '') {
    return { verdict: 'completed', errorSince: undefined }
  }
  if (backup.state !== 'error') return { verdict: 'waiting', errorSince: undefined }
  const since = errorSince ?? now
  return { verdict: now - since >= ERROR_GRACE_MS ? 'error' : 'waiting', errorSince: since }
}

/**
 * The proof that the file belongs to this Backup and this cluster (pure): named
 * `<backup>-<kube-system UID>-<time>.tar.gz[.enc]` (pkg/controllers/backup/controller.go
 * generateBackupFilename), encrypted exactly when an encryption config is set. A problem, or
 * undefined when it holds.
 */
export function filenameProblem(
  filename: string,
  backupName: string,
  clusterUid: string,
  encrypted: boolean
): string | undefined {
  const parsed = parseBackupFilename(filename)
  if (parsed === undefined || !filename.startsWith(`${backupName}-`)) {
    return `is not named like a file of Backup ${backupName} (<name>-<kube-system UID>-<time>.tar.gz)`
  }
  if (parsed.clusterUid !== clusterUid.toLowerCase()) {
    return `carries kube-system UID ${parsed.clusterUid}, not this cluster's ${clusterUid}`
  }
  if (parsed.encrypted !== encrypted) {
    return encrypted
      ? 'is not encrypted although encryption-config-secret-name is set'
      : 'is encrypted although encryption-config-secret-name is empty'
  }
  return undefined
}

async function step<T>(
  report: BackupReport,
  record: StepRecord,
  fn: () => Promise<{ value: T; detail: string }>
): Promise<T> {
  report.steps.push(record)
  const started = Date.now()
  info(`▶ ${record.title}`)
  try {
    const { value, detail } = await fn()
    record.status = 'succeeded'
    record.detail = detail
    return value
  } catch (e) {
    record.status = e instanceof Error && e.name === 'CancelledError' ? 'cancelled' : 'failed'
    record.detail = (e as Error).message.split('\n')[0] ?? ''
    throw e
  } finally {
    record.durationMs = Date.now() - started
  }
}

export async function takeBackup(ctx: BackupContext): Promise<void> {
  const { settings, decision, runner, report } = ctx
  const c = backupCommands(settings, decision)
  const planned = report.plan
  const record = (id: string): StepRecord => {
    const p = planned.find(s => s.id === id)
    return {
      id,
      title: p?.title ?? id,
      status: 'not-run',
      durationMs: 0,
      detail: '',
      commands: p?.commands ?? []
    }
  }

  if (c.create) {
    await step(report, record('create-backup'), async () => {
      try {
        await runner.run(c.create!)
      } catch (e) {
        // A create retried after a transient error may already have gone through: the name is ours.
        if (!isAlreadyExists(e)) throw e
      }
      return { value: undefined, detail: `created Backup ${decision.name}` }
    })
  }

  const done = await step(report, record('wait-backup'), async () => {
    let errorSince: number | undefined
    for (let round = 1; ; round++) {
      const left = ctx.budget.remaining()
      const limit = Math.min(WAIT_ROUND_MS, Math.max(1000, left - 5_000))
      const wait = backupCommands(settings, decision, limit).wait
      await runner.run(wait).catch((e: unknown) => {
        // A round that ends without Ready is not an answer: the Backup read next is.
        if (!(e instanceof CommandError && e.timedOut)) throw e
      })
      const backup = parseBackup(parseJson((await runner.run(c.read)).stdout, 'backup'))
      report.conditions = backup.conditions
      const v = waitVerdict(backup, errorSince, ctx.now().getTime())
      errorSince = v.errorSince
      if (v.verdict === 'completed') {
        return { value: backup, detail: `Ready=True "Completed": ${backup.filename}` }
      }
      if (v.verdict === 'error' || ctx.budget.remaining() < 2_000) {
        report.operatorLog = operatorLogLines((await runner.run(c.operatorLog)).stdout)
        const state =
          v.verdict === 'error'
            ? `the operator reports an error and keeps retrying: ${backup.message}`
            : `it did not complete within 'timeout' (${backup.message})`
        throw new StepFailure(
          `Backup ${decision.name} did not complete: ${state}.`,
          `Read the operator log (kubectl -n ${BACKUP_NAMESPACE} logs -l ${OPERATOR_LOG_SELECTOR}), fix the cause (S3 location, credentials, ResourceSet), delete the Backup (kubectl delete ${BACKUP_CRD} ${decision.name}) and run again. Do not upgrade without a backup.`
        )
      }
      if (round === 1 || round % 6 === 0) info(`Backup ${decision.name}: ${backup.message}`)
    }
  })

  report.filename = done.filename
  await step(report, record('prove-upload'), async () => {
    const problem = filenameProblem(
      done.filename,
      decision.name,
      ctx.facts.clusterUid,
      settings.encryptionConfigSecretName !== ''
    )
    if (problem !== undefined) {
      throw new StepFailure(
        `Backup ${decision.name} names file ${done.filename}, which ${problem}.`,
        'Check which operator processed the Backup; do not upgrade without a backup of this cluster.'
      )
    }
    const target = s3Target(settings.s3, ctx.facts.s3Keys!)
    const key = objectKey(settings.s3.folder, done.filename)
    const found = await ctx.s3.headObject(target, key, S3_TIMEOUT_MS)
    if (found === undefined || found.size === 0) {
      throw new StepFailure(
        `Backup ${decision.name} is Ready, but ${s3Proof(settings, done.filename)} found ${found ? 'an empty object' : 'no object'}.`,
        'Check that the operator and this action use the same bucket, folder and endpoint; do not upgrade without a backup.'
      )
    }
    report.object = { size: found.size, lastModified: found.lastModified }
    return {
      value: undefined,
      detail: `${key}: ${found.size} bytes, last modified ${found.lastModified}`
    }
  })
}
