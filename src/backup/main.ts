/**
 * The companion's shell: inputs → tools → facts → decision → plan → steps → report, as the main
 * action's main.ts, with its modules: the inputs reader, the tool installer, the command layer
 * (argv arrays, deadlines, retries, the dry-run guard, masking, cancellation) and the report's
 * renderers. The summary and outputs are written in `finally`.
 */
import * as core from '@actions/core'
import { Refusal } from '../decide/choose.js'
import type { S3Reader } from '../facts/gather.js'
import * as s3 from '../facts/s3-client.js'
import { secretInputValues } from '../inputs/input-helper.js'
import type { CommandRunner } from '../kube/command-runner.js'
import { endedByCancel, failure } from '../report/failure.js'
import { fail, info, warning } from '../report/log.js'
import { writeOutputsAndSummary } from '../report/write.js'
import { Budget } from '../run/budget.js'
import { Cancellation } from '../run/cancellation.js'
import { execCommands, withSession, type CommandsWhere } from '../run/session.js'
import { installTools } from '../tools/tool-installer.js'
import { decideBackup } from './decide.js'
import { gatherBackupFacts } from './facts.js'
import { backupName, runIdentity } from './names.js'
import { buildBackupPlan } from './plan.js'
import {
  buildBackupOutputs,
  emptyBackupReport,
  renderBackupSummary,
  type BackupReport
} from './report.js'
import { getBackupSettings, type BackupSettings } from './settings.js'
import { takeBackup } from './steps.js'

/** The parts of the world the companion talks to, replaceable in component tests. */
export interface BackupEnvironment {
  install: (s: BackupSettings, binDir: string) => Promise<{ helmPath: string; kubectlPath: string }>
  runner: (o: CommandsWhere & { settings: BackupSettings }) => CommandRunner
  s3: Pick<S3Reader, 'headObject'>
  now: () => Date
  env: NodeJS.ProcessEnv
  cancellation: Cancellation
}

export const realBackupEnvironment: BackupEnvironment = {
  install: (s, binDir) => installTools({ ...s, binDir }),
  runner: o => execCommands({ ...o, cancellation: realBackupEnvironment.cancellation }),
  s3: { headObject: s3.headObject },
  now: () => new Date(),
  env: process.env,
  cancellation: new Cancellation()
}

export async function runBackup(
  env: BackupEnvironment = realBackupEnvironment
): Promise<BackupReport> {
  const report = emptyBackupReport(env.now())
  try {
    for (const secret of secretInputValues()) core.setSecret(secret)
    const settings = getBackupSettings()
    report.dryRun = settings.dryRun
    await backup(settings, env, report)
  } catch (e) {
    if (endedByCancel(e, env.cancellation.signal)) {
      const at = env.cancellation.at?.toISOString() ?? ''
      report.status = 'cancelled'
      report.error =
        `Cancelled by ${env.cancellation.cause || 'a signal'}${at ? ` at ${at}` : ''}` +
        (report.backupName === ''
          ? ', before a Backup was created.'
          : `; Backup ${report.backupName} is left to the operator, which finishes it.`)
      report.nextStep =
        'Re-run the job (same workflow run): it finds this Backup and waits for it instead of taking another.'
      fail(`${report.error}\nNext: ${report.nextStep}`)
    } else {
      const f = failure(e)
      report.status = f.status
      report.error = f.error
      report.nextStep = f.nextStep
      fail(f.line)
    }
  } finally {
    report.finishedAt = env.now()
    await writeBackupReport(report)
  }
  return report
}

async function backup(
  settings: BackupSettings,
  env: BackupEnvironment,
  report: BackupReport
): Promise<void> {
  const budget = new Budget(env.now().getTime() + settings.timeoutMs, () => env.now().getTime())
  // The work directory is the main action's post step's to remove (backup/action.yml runs dist/post.js).
  await withSession(
    {
      settings,
      budget,
      signal: env.cancellation.signal,
      install: env.install,
      commands: o => env.runner({ ...o, settings })
    },
    ({ runner }) => backupWith(settings, env, report, budget, runner)
  )
}

async function backupWith(
  settings: BackupSettings,
  env: BackupEnvironment,
  report: BackupReport,
  budget: Budget,
  runner: CommandRunner
): Promise<void> {
  const facts = await core.group('Read the cluster', () =>
    gatherBackupFacts(settings, runner, core.setSecret)
  )
  report.clusterUid = facts.clusterUid
  report.rancherVersion = facts.release.version
  report.helmRevision = facts.release.revision

  const run = runIdentity(env.env)
  const decision = decideBackup(
    settings,
    facts,
    run,
    backupName(settings.namePrefix, run, env.now())
  )
  if (decision.kind === 'refuse') throw new Refusal(decision.reason, decision.instead)
  for (const w of decision.warnings) warning(w)
  report.warnings = decision.warnings
  report.backupName = decision.name
  report.resourceSet = decision.resourceSetName
  report.location = `s3://${settings.s3.bucketName}/${settings.s3.folder === '' ? '' : `${settings.s3.folder}/`}`
  if (decision.adopted) {
    report.adopted = `created by an earlier attempt of this workflow run of the same Helm revision ${decision.revision}: waited on, not taken again`
  }
  info(
    `Backup ${decision.name} of Rancher ${decision.rancherVersion} (revision ${decision.revision}), ResourceSet ${decision.resourceSetName} (${decision.resourceSetWhy})${decision.adopted ? ', adopted from an earlier attempt' : ''}.`
  )
  report.plan = buildBackupPlan(settings, decision, facts.clusterUid)
  if (settings.dryRun) {
    report.steps = report.plan.map(s => ({
      id: s.id,
      title: s.title,
      status: 'planned',
      durationMs: 0,
      detail: '',
      commands: s.commands
    }))
    report.status = 'planned'
    info('Dry run: nothing changed.')
    return
  }
  await takeBackup({
    settings,
    decision,
    facts,
    runner,
    s3: env.s3,
    budget,
    now: env.now,
    signal: env.cancellation.signal,
    report
  })
  report.status = 'succeeded'
}

export function writeBackupReport(report: BackupReport): Promise<void> {
  return writeOutputsAndSummary(buildBackupOutputs(report), () => renderBackupSummary(report))
}
