/**
 * The imperative shell: inputs → tools → facts → decision → plan → steps → report. Everything it
 * calls is either pure or goes through the command layer; the summary is written in `finally`.
 */
import * as core from '@actions/core'
import { appendFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { decide, type Decision, type ProceedDecision } from './decide/decide.js'
import { preflight } from './decide/preflight.js'
import { ChartNotFound, resolveBackupChartVersion } from './facts/chart-version.js'
import type { ClusterFacts } from './facts/cluster-facts.js'
import { gatherFacts, type S3Reader } from './facts/gather.js'
import { parseHelmMajor } from './facts/parsers.js'
import * as s3 from './facts/s3-client.js'
import { getSettings, InputError, secretValues } from './inputs/input-helper.js'
import type { Settings } from './inputs/settings.js'
import type { CommandRunner } from './kube/command-runner.js'
import * as cmd from './kube/commands.js'
import { ExecCommandRunner } from './kube/exec-command-runner.js'
import { restoreName } from './kube/names.js'
import { followUps } from './report/follow-ups.js'
import { buildOutputs } from './report/outputs.js'
import type { RunReport } from './report/run-report.js'
import { renderSummary } from './report/summary.js'
import { Budget } from './run/budget.js'
import { executeSteps, pendingRecords } from './run/executor.js'
import { buildPlan, procedureSteps } from './run/plan.js'
import { markMainStarted, saveWorkDir } from './run/state-helper.js'
import { StepFailure, type PlanInput } from './run/step.js'
import { createWorkDir, readPrivateFile, writePrivateFile } from './run/workspace.js'
import { installTools } from './tools/tool-installer.js'

export function emptyReport(now = new Date()): RunReport {
  return {
    status: 'failed',
    decision: undefined,
    facts: undefined,
    plan: [],
    steps: [],
    restoreName: '',
    restoreConditions: [],
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

/** Lease holder: unique per run attempt and process, readable by the person who finds it. */
export function holderIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const run = env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID}/attempts/${env.GITHUB_RUN_ATTEMPT ?? '1'}`
    : 'local run'
  return `${run} job ${env.GITHUB_JOB ?? '-'} (${hostname()}:${process.pid})`
}

/** The parts of the world main.ts talks to, replaceable in component tests. */
export interface Environment {
  install: (s: Settings, binDir: string) => Promise<{ helmPath: string; kubectlPath: string }>
  runner: (opts: {
    helmPath: string
    kubectlPath: string
    kubeconfigPath?: string
    settings: Settings
  }) => CommandRunner
  s3: S3Reader
  now: () => Date
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
  runner: o =>
    new ExecCommandRunner({
      helmPath: o.helmPath,
      kubectlPath: o.kubectlPath,
      kubeconfigPath: o.kubeconfigPath,
      context: o.settings.context || undefined,
      dryRun: o.settings.dryRun
    }),
  s3: { headObject: s3.headObject, listObjects: s3.listObjects },
  now: () => new Date()
}

class Refusal extends Error {
  constructor(
    message: string,
    readonly instead: string
  ) {
    super(message)
  }
}

export async function run(env: Environment = realEnvironment): Promise<RunReport> {
  const report = emptyReport(env.now())
  try {
    markMainStarted()
    const settings = getSettings()
    for (const secret of secretValues(settings)) core.setSecret(secret)
    report.dryRun = settings.dryRun
    await rollback(settings, env, report)
  } catch (e) {
    const error = e as Error
    report.status = e instanceof Refusal ? 'refused' : 'failed'
    report.error = error.message
    if (e instanceof Refusal) report.nextStep = e.instead
    else if (e instanceof StepFailure) report.nextStep = e.nextStep
    else if (e instanceof InputError)
      report.nextStep = 'Fix the inputs named above; nothing was run.'
    core.setFailed(
      e instanceof Refusal
        ? `${error.message}\nInstead: ${e.instead}`
        : report.nextStep
          ? `${error.message}\nNext: ${report.nextStep}`
          : error.message
    )
  } finally {
    report.finishedAt = env.now()
    await writeReport(report)
  }
  return report
}

async function rollback(settings: Settings, env: Environment, report: RunReport): Promise<void> {
  const budget = new Budget(env.now().getTime() + settings.timeoutMs, () => env.now().getTime())
  const workDir = await createWorkDir()
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
      'installing helm and kubectl'
    )
  )
  const runner = env.runner({ ...tools, kubeconfigPath, settings })

  const [helmMajor, facts] = await core.group('Read the cluster', async () =>
    Promise.all([
      runner.run(cmd.helmVersion()).then(r => parseHelmMajor(r.stdout)),
      gatherFacts(settings, { runner, s3: env.s3, mask: core.setSecret })
    ])
  )
  report.facts = facts
  report.historyBefore = facts.release.history

  const decision = choose(settings, facts, report)
  const input: PlanInput = {
    decision,
    facts,
    settings,
    helmMajor,
    restoreName: restoreName(env.now(), decision.from, decision.to),
    backupChartVersion: await backupChartVersion(runner, settings, decision),
    valuesFile: join(workDir, 'values.yaml'),
    secretsFile: join(workDir, 'saved-secrets.json')
  }
  report.plan = buildPlan(input)
  report.followUps = followUps(decision, true)

  if (settings.dryRun) {
    report.steps = pendingRecords(report.plan, 'planned')
    report.status = 'planned'
    core.info(`Dry run: ${report.plan.length} steps planned, nothing changed.`)
    return
  }

  report.steps = pendingRecords(report.plan, 'not-run')
  const ctx = {
    ...input,
    runner,
    holder: holderIdentity(),
    now: env.now,
    log: (line: string) => core.info(line),
    group: <T>(name: string, fn: () => Promise<T>) => core.group(name, fn),
    report,
    writePrivateFile,
    readPrivateFile
  }
  try {
    await executeSteps(procedureSteps(input), ctx, budget, report.steps)
  } finally {
    report.followUps = followUps(
      decision,
      report.steps.every(s => s.status === 'succeeded')
    )
  }
  report.status = 'succeeded'
}

/** The decision, or a refusal: the table (decide), then the procedure's preconditions. */
function choose(settings: Settings, facts: ClusterFacts, report: RunReport): ProceedDecision {
  report.decision = forcedForTests(
    decide({
      target: settings.targetVersion,
      releaseExists: facts.release.exists,
      history: facts.release.history,
      capi: facts.capi,
      interrupted: facts.interrupted
    }),
    facts
  )
  if (report.decision.kind === 'refuse') {
    throw new Refusal(report.decision.reason, report.decision.instead)
  }
  const chosen = report.decision
  core.info(`Decision: ${chosen.procedure} from ${chosen.from} to ${chosen.to} (${chosen.rule})`)
  const check = preflight(chosen, facts, settings)
  for (const w of check.warnings) core.warning(w)
  if (!check.ok) throw new Refusal(check.reason, check.instead)
  return chosen
}

/** Only the cleanup path installs the backup operator; its version is resolved read-only, now. */
async function backupChartVersion(
  runner: CommandRunner,
  settings: Settings,
  decision: ProceedDecision
): Promise<string> {
  if (decision.procedure !== 'cleanup-and-reinstall') return ''
  try {
    return await resolveBackupChartVersion(runner, settings, decision.to)
  } catch (e) {
    if (e instanceof ChartNotFound) throw new Refusal(e.message, e.instead)
    throw e
  }
}

/**
 * End-to-end tests prove the decision matters by forcing the naive in-place path where the table
 * says cleanup-and-reinstall. Never an input: a workflow cannot set it by accident.
 */
export const FORCE_PROCEDURE_ENV = 'RANCHER_ROLLBACK_TEST_ONLY_FORCE_PROCEDURE'

function forcedForTests(decision: Decision, facts: ClusterFacts): Decision {
  const forced = process.env[FORCE_PROCEDURE_ENV]
  if (forced !== 'in-place' || decision.kind !== 'proceed') return decision
  const revision = [...facts.release.history].reverse().find(r => r.appVersion === decision.to)
  core.warning(`${FORCE_PROCEDURE_ENV} is set: forcing the in-place procedure (testing only).`)
  return {
    ...decision,
    procedure: 'in-place',
    rule: `FORCED in-place by ${FORCE_PROCEDURE_ENV} (testing only); the decision table chose ${decision.procedure}: ${decision.rule}`,
    rollbackRevision: revision?.revision
  }
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${Math.round(ms / 1000)}s ${what}.`)),
      ms
    )
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

async function writeReport(report: RunReport): Promise<void> {
  for (const [name, value] of Object.entries(buildOutputs(report))) core.setOutput(name, value)
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info('GITHUB_STEP_SUMMARY is not set: the job summary is not written.')
    return
  }
  try {
    // Appended directly: core.summary caches the file path of its first write.
    await appendFile(process.env.GITHUB_STEP_SUMMARY, renderSummary(report) + '\n')
  } catch (e) {
    core.warning(`Could not write the job summary: ${(e as Error).message}`)
  }
}
