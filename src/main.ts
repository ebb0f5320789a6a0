/**
 * The imperative shell: inputs → tools → facts → decision → plan → steps → report. Everything it
 * calls is either pure or goes through the command layer; the summary is written in `finally`.
 */
import * as core from '@actions/core'
import { join } from 'node:path'
import { choose, FORCE_PROCEDURE_ENV, Refusal } from './decide/choose.js'
import { removesWebhook } from './decide/preflight.js'
import { readPlanFacts } from './facts/plan-facts.js'
import { afterCancel } from './report/cancelled.js'
import { endedByCancel, failure } from './report/failure.js'
import { Cancellation } from './run/cancellation.js'
import { readCluster, type S3Reader } from './facts/gather.js'
import * as s3 from './facts/s3-client.js'
import { getSettings, secretInputValues } from './inputs/input-helper.js'
import type { Settings } from './inputs/settings.js'
import type { CommandRunner } from './kube/command-runner.js'
import type { Interruption } from './kube/exec-command-runner.js'
import { restoreName } from './kube/names.js'
import { followUps } from './report/follow-ups.js'
import { fail, info, warning } from './report/log.js'
import { emptyReport, type RunReport } from './report/run-report.js'
import { writeReport } from './report/write.js'
import { Budget } from './run/budget.js'
import { executeSteps, pendingRecords } from './run/executor.js'
import { buildPlan, procedureSteps } from './run/plan.js'
import { saveLockState } from './run/state-helper.js'
import {
  execCommands,
  withSession,
  type CommandsWhere,
  type Session,
  type ToolPaths
} from './run/session.js'
import type { PlanInput } from './run/step.js'
import { holderIdentity, stopLockRenewal } from './run/steps/lock.js'
import { readPrivateFile, writePrivateFile } from './run/workspace.js'
import { installTools } from './tools/tool-installer.js'

/** The tools, and the helm version installed (verified against its checksum). */
type Tools = ToolPaths & { helmVersion: string }

/** The parts of the world main.ts talks to, replaceable in component tests. */
export interface Environment {
  install: (s: Settings, binDir: string) => Promise<Tools>
  runner: (
    o: CommandsWhere & { settings: Settings; onInterruption: (i: Interruption) => void }
  ) => CommandRunner
  s3: S3Reader
  now: () => Date
  /** SIGINT/SIGTERM, as the runner sends them (index.ts listens). */
  cancellation: Cancellation
}

export const realEnvironment: Environment = {
  install: (s, binDir) =>
    installTools({
      helmVersion: s.helmVersion,
      kubectlVersion: s.kubectlVersion,
      helmMirror: s.helmMirror,
      kubectlMirror: s.kubectlMirror,
      binDir
    }),
  runner: o => execCommands({ ...o, cancellation: realEnvironment.cancellation }),
  s3: { headObject: s3.headObject, listObjects: s3.listObjects },
  now: () => new Date(),
  cancellation: new Cancellation()
}

export async function run(env: Environment = realEnvironment): Promise<RunReport> {
  const report = emptyReport(env.now())
  try {
    // Secrets are masked as given, before validation can say anything about any input.
    for (const secret of secretInputValues()) core.setSecret(secret)
    const settings = getSettings()
    report.dryRun = settings.dryRun
    await rollback(settings, env, report)
  } catch (e) {
    if (endedByCancel(e, env.cancellation.signal)) {
      cancelled(report, env.cancellation)
      return report
    }
    const f = failure(e)
    report.status = f.status
    report.error = f.error
    report.nextStep = f.nextStep
    fail(f.line)
  } finally {
    report.finishedAt = env.now()
    await writeReport(report)
  }
  return report
}

/** The report of a cancelled run: where it stopped, what it leaves, what a re-run does. */
function cancelled(report: RunReport, cancellation: Cancellation): void {
  const procedure = report.decision?.kind === 'proceed' ? report.decision.procedure : undefined
  const after = afterCancel(procedure, report.steps)
  const at = cancellation.at?.toISOString() ?? ''
  report.status = 'cancelled'
  report.error =
    `Cancelled by ${cancellation.cause || 'a signal'}${at ? ` at ${at}` : ''}` +
    (after.step ? `, in step "${after.step}"` : ', before any step') +
    `. ${after.state}`
  report.nextStep = `Run it again with the same inputs: ${after.rerun}`
  fail(`${report.error}\nNext: ${report.nextStep}`)
}

async function rollback(settings: Settings, env: Environment, report: RunReport): Promise<void> {
  const budget = new Budget(env.now().getTime() + settings.timeoutMs, () => env.now().getTime())
  const onInterruption = (i: Interruption): void => {
    // Steps run one at a time and are marked when they end: the first unmarked one is running.
    const during = report.steps.find(s => s.status === 'not-run')?.title ?? 'reading the cluster'
    report.interruptions.push({ during, ...i })
  }
  await withSession(
    {
      settings,
      budget,
      signal: env.cancellation.signal,
      install: env.install,
      commands: o => env.runner({ ...o, settings, onInterruption })
    },
    session => proceed(settings, env, report, budget, session)
  )
}

async function proceed(
  settings: Settings,
  env: Environment,
  report: RunReport,
  budget: Budget,
  { workDir, kubeconfigPath, tools, runner }: Session<Tools>
): Promise<void> {
  const holder = holderIdentity()
  if (!settings.dryRun) {
    saveLockState({
      holder,
      kubectlPath: tools.kubectlPath,
      kubeconfigPath,
      context: settings.context || undefined
    })
  }

  const { helmMajor, facts } = await core.group('Read the cluster', () =>
    readCluster(settings, tools.helmVersion, { runner, s3: env.s3, mask: core.setSecret })
  )
  report.facts = facts
  report.historyBefore = facts.release.history

  const choice = choose(settings, facts, process.env[FORCE_PROCEDURE_ENV])
  report.decision = choice.decision
  for (const w of choice.warnings) warning(w)
  if (choice.kind === 'refuse') throw new Refusal(choice.reason, choice.instead)
  const { decision } = choice
  info(`Decision: ${decision.procedure} from ${decision.from} to ${decision.to} (${decision.rule})`)
  const input: PlanInput = {
    decision,
    facts,
    settings,
    helmMajor,
    restoreName: restoreName(env.now(), decision.from, decision.to),
    ...(await readPlanFacts(runner, settings, facts, decision)),
    valuesFile: join(workDir, 'values.yaml'),
    secretsFile: join(workDir, 'saved-secrets.json')
  }
  report.plan = buildPlan(input)
  const webhookVerified = removesWebhook(decision, settings)
  report.followUps = followUps(decision, true, facts.rke1Clusters, webhookVerified)
  const changing = report.plan.filter(s => s.mutating).length
  info(`Plan: ${report.plan.length} steps, ${changing} changing the cluster.`)

  if (settings.dryRun) {
    report.steps = pendingRecords(report.plan, 'planned')
    report.status = 'planned'
    info('Dry run: nothing changed.')
    return
  }

  report.steps = pendingRecords(report.plan, 'not-run')
  const ctx = {
    ...input,
    runner,
    holder,
    now: env.now,
    signal: env.cancellation.signal,
    log: info,
    group: <T>(name: string, fn: () => Promise<T>) => core.group(name, fn),
    report,
    writePrivateFile,
    readPrivateFile
  }
  try {
    await executeSteps(procedureSteps(input), ctx, budget, report.steps)
  } finally {
    // release-lock stops it too; this covers a run that ends without reaching it.
    await stopLockRenewal()
    // The plan a real run reports is what each step was allowed, with the limits it had.
    report.plan = report.plan.map((step, i) => ({
      ...step,
      commands: report.steps[i]?.commands ?? step.commands
    }))
    report.followUps = followUps(
      decision,
      report.steps.every(s => s.status === 'succeeded'),
      facts.rke1Clusters,
      webhookVerified
    )
  }
  report.status = 'succeeded'
}
