/**
 * What a step is. Each step kind (one module in steps/) declares, as one pure function of the plan
 * input and the time limits, every command it may run; the dry run prints that list and the real
 * run executes from it, so the plan cannot drift from the run. A step may skip planned commands
 * ("already done"), never issue an unplanned one: the executor hands it a runner that refuses.
 */
import type { ClusterFacts } from '../facts/cluster-facts.js'
import type { ProceedDecision } from '../decide/decide.js'
import type { Settings } from '../inputs/settings.js'
import {
  CommandError,
  describeCommand,
  type Command,
  type CommandResult,
  type CommandRunner
} from '../kube/command-runner.js'
import type { HelmMajor } from '../kube/commands.js'
import type { RunReport } from '../report/run-report.js'

export type StepId =
  | 'lock'
  | 'create-s3-secret'
  | 'save-values'
  | 'save-secrets'
  | 'take-saved'
  | 'cleanup'
  | 'remove-turtles'
  | 'verify-cleanup'
  | 'install-backup-operator'
  | 'recreate-secrets'
  | 'remove-webhook'
  | 'restore'
  | 'adopt-restored'
  | 'helm-rollback'
  | 'scale-rancher'
  | 'helm-install'
  | 'verify'
  | 'forget-saved'
  | 'release-lock'

/** Everything a plan is computed from; all of it is known, read-only, before the first step. */
export interface PlanInput {
  decision: ProceedDecision
  facts: ClusterFacts
  settings: Settings
  helmMajor: HelmMajor
  restoreName: string
  /** The exact rancher-backup chart version the cleanup path installs ('' on other paths). */
  backupChartVersion: string
  /** The replicas Rancher's target revision runs with (restore-only, in-place; 0 otherwise). */
  rancherReplicas: number
  /** Where save-values writes; known before the run so the plan can name it. */
  valuesFile: string
  /** Where save-secrets writes the secrets cleanup would delete. */
  secretsFile: string
}

/**
 * The time a command may wait. The dry run plans with the configured limits; the real run with
 * the limits left at the step's start (`Budget.at`), fixed for the whole step.
 */
export interface Limits {
  /** `ms`, or less when the run's budget has less left; throws when nothing is left. */
  limit(ms: number, what: string): number
}

export const CONFIGURED_LIMITS: Limits = { limit: ms => ms }

/** A step's commands, by name; a list stands for "one per item" (e.g. each Secret to read). */
export type CommandSet = Record<string, Command | readonly Command[]>

/** What a step gets at run time: the plan input, plus the live parts. */
export interface StepContext extends PlanInput {
  /** Runs only this step's planned commands. */
  runner: CommandRunner
  /** Lease holder identity of this run (repository, run id, attempt). */
  holder: string
  now: () => Date
  /** Aborts when the run is cancelled (SIGINT/SIGTERM): start nothing new, end waits. */
  signal: AbortSignal
  log: (line: string) => void
  /** Collapsible log group (core.group in the action). */
  group: <T>(name: string, fn: () => Promise<T>) => Promise<T>
  /** Steps record what the summary needs (restore conditions, values file, revision…). */
  report: RunReport
  /** Writes a file readable only by the runner's user (mode 0600). */
  writePrivateFile: (path: string, content: string) => Promise<void>
  readPrivateFile: (path: string) => Promise<string>
}

export interface StepKind<C extends CommandSet = CommandSet> {
  id: StepId
  title(input: PlanInput): string
  /** Every command the step may run, in the order it runs them. Pure. */
  commands(input: PlanInput, limits: Limits): C
  /** Carries the step out with exactly `commands`; returns one line for the summary. */
  run(ctx: StepContext, commands: C, limits: Limits): Promise<string>
  /** Runs even after an earlier step failed (releasing the lock). */
  always?: boolean
}

/** Declares a step kind; the type parameter ties `run` to the commands `commands` declared. */
export function defineStep<C extends CommandSet>(kind: StepKind<C>): StepKind {
  return kind as unknown as StepKind
}

export function commandList(set: CommandSet): Command[] {
  return Object.values(set).flatMap(c => (Array.isArray(c) ? [...c] : [c as Command]))
}

/** The printed form, as the plan and the run's log show it. */
export const showCommand = describeCommand

/**
 * Two commands are the same when everything but the content of stdin agrees: a manifest built at
 * run time (the Lease's times, the saved values) fills in what the plan could only describe.
 */
function commandKey(c: Command): string {
  return JSON.stringify([
    c.tool,
    c.args,
    c.stdin !== undefined,
    c.about ?? '',
    c.timeoutMs,
    c.mutating,
    c.retry ?? 'transient',
    c.allowFailure ?? false,
    c.secretOutput ?? false
  ])
}

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

/** The runner a step gets: the planned commands go through, anything else is refused. */
export function plannedRunner(
  inner: CommandRunner,
  step: StepId,
  planned: Command[]
): CommandRunner {
  const allowed = new Set(planned.map(commandKey))
  return {
    run(command: Command): Promise<CommandResult> {
      if (!allowed.has(commandKey(command))) {
        const message = `Step ${step} tried to run a command its plan does not list: ${showCommand(command)}. Nothing was run; this is a bug in rancher-rollback.`
        return Promise.reject(new CommandError(message, command, undefined))
      }
      return inner.run(command)
    }
  }
}
