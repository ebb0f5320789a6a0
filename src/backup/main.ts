/**
 * The companion's shell: inputs → tools → facts → decision → plan → steps → report, as the main
 * action's main.ts, with its modules: the inputs reader, the tool installer, the command layer
 * (argv arrays, deadlines, retries, the dry-run guard, masking, cancellation) and the report's
 * renderers. The summary and outputs are written in `finally`.
 */
import * as core from '@actions/core'
import { join } from 'node:path'
import { Refusal } from '../decide/choose.js'
import type { S3Reader } from '../facts/gather.js'
import * as s3 from '../facts/s3-client.js'
import { InputError, secretInputValues } from '../inputs/input-helper.js'
import type { CommandRunner } from '../kube/command-runner.js'
import { ExecCommandRunner } from '../kube/exec-command-runner.js'
import { maskingRunner } from '../kube/secret-output.js'
import { withDeadline } from '../main.js'
import { debug, fail, info, warning } from '../report/log.js'
import { writeOutputsAndSummary } from '../report/write.js'
import { Budget } from '../run/budget.js'
import { Cancellation, cancellableRunner } from '../run/cancellation.js'
import { saveWorkDir } from '../run/state-helper.js'
import { StepFailure } from '../run/step.js'
import { createWorkDir, writePrivateFile } from '../run/workspace.js'
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
  runner: (o: {
    helmPath: string
    kubectlPath: string
    kubeconfigPath?: string
    settings: BackupSettings
    deadline: number
    /** Where the run's kubectl proxy listens (in the private work directory). */
    apiSocketPath: string
  }) => CommandRunner
  s3: Pick<S3Reader, 'headObject'>
  now: () => Date
  env: NodeJS.ProcessEnv
  cancellation: Cancellation
}

export const realBackupEnvironment: BackupEnvironment = {
  install: (s, binDir) => installTools({ ...s, binDir }),
  runner: o =>
    new ExecCommandRunner({
      helmPath: o.helmPath,
      kubectlPath: o.kubectlPath,
      kubeconfigPath: o.kubeconfigPath,
      context: o.settings.context || undefined,
      dryRun: o.settings.dryRun,
      cancellation: realBackupEnvironment.cancellation,
      deadline: o.deadline,
      apiSocketPath: o.apiSocketPath,
      log: info,
      warn: warning,
      debug
    }),
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
    const error = e as Error
    if (env.cancellation.signal.aborted && !(e instanceof Refusal) && !(e instanceof InputError)) {
      const at = env.cancellation.at?.toISOString() ?? ''
      report.status = 'cancelled'
      report.error =
        `Cancelled by ${env.cancellation.cause || 'a signal'}${at ? ` at ${at}` : ''}` +
        (report.backupName === ''
          ? ', before a Backup was created.'
          : `; Backup ${report.backupName} is left to the operator, which finishes it.`)
      report.nextStep =
        'Re-run the job (same workflow run): it finds this Backup and waits for it instead of taking another.'
    } else {
      report.status = e instanceof Refusal ? 'refused' : 'failed'
      report.error = error.message
      if (e instanceof Refusal) report.nextStep = e.instead
      else if (e instanceof StepFailure) report.nextStep = e.nextStep
      else if (e instanceof InputError)
        report.nextStep = 'Fix the inputs named above; nothing was run.'
    }
    fail(
      report.status === 'refused'
        ? `${report.error}\nInstead: ${report.nextStep}`
        : report.nextStep
          ? `${report.error}\nNext: ${report.nextStep}`
          : report.error
    )
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
  const workDir = await createWorkDir()
  // The main action's post step removes it (backup/action.yml runs dist/post.js).
  saveWorkDir(workDir)
  let kubeconfigPath: string | undefined
  if (settings.kubeconfig) {
    kubeconfigPath = join(workDir, 'kubeconfig')
    await writePrivateFile(kubeconfigPath, settings.kubeconfig)
  }
  const tools = await core.group('Install helm and kubectl', () =>
    withDeadline(
      env.install(settings, join(workDir, 'bin')),
      budget.limit(10 * 60_000, 'installing tools'),
      'installing helm and kubectl',
      env.cancellation.signal
    )
  )
  const commands = env.runner({
    helmPath: tools.helmPath,
    kubectlPath: tools.kubectlPath,
    kubeconfigPath,
    settings,
    deadline: budget.deadline,
    apiSocketPath: join(workDir, 'api.sock')
  })
  try {
    // Credentials a command reads from the cluster are masked before anything can print them.
    const runner = cancellableRunner(
      maskingRunner(commands, core.setSecret),
      env.cancellation.signal
    )
    await backupWith(settings, env, report, budget, runner)
  } finally {
    await commands.close?.()
  }
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
