/**
 * What both actions (the rollback and the backup companion) set up before they read the cluster,
 * and take down after: the run's private work directory (the kubeconfig in it, mode 0600; the
 * post step removes it), helm and kubectl installed within the budget, and the command layer
 * (with its kubectl proxy), masking what it reads and refusing to start anything once cancelled.
 */
import * as core from '@actions/core'
import { join } from 'node:path'
import type { CommandRunner } from '../kube/command-runner.js'
import { ExecCommandRunner, type Interruption } from '../kube/exec-command-runner.js'
import { maskingRunner } from '../kube/secret-output.js'
import { debug, info, warning } from '../report/log.js'
import type { Budget } from './budget.js'
import { CancelledError, cancellableRunner, type Cancellation } from './cancellation.js'
import { saveWorkDir } from './state-helper.js'
import { createWorkDir, writePrivateFile } from './workspace.js'

/** Installing helm and kubectl never takes more than this of the run's budget. */
const INSTALL_LIMIT_MS = 10 * 60_000

export interface ToolPaths {
  helmPath: string
  kubectlPath: string
}

export interface Session<T extends ToolPaths> {
  workDir: string
  kubeconfigPath: string | undefined
  tools: T
  /** The command layer as the steps use it: masked, cancellable. */
  runner: CommandRunner
}

/** Where the command layer finds the tools, the cluster and its limits. */
export interface CommandsWhere {
  helmPath: string
  kubectlPath: string
  kubeconfigPath?: string
  /** The run's deadline (epoch ms): no retry starts after it. */
  deadline: number
  /** Where the run's kubectl proxy listens (in the private work directory). */
  apiSocketPath: string
}

export interface SessionOptions<S extends { kubeconfig: string }, T extends ToolPaths> {
  settings: S
  budget: Budget
  signal: AbortSignal
  install: (settings: S, binDir: string) => Promise<T>
  /** The command layer for these tools; closed when the work ends. */
  commands: (o: CommandsWhere) => CommandRunner
}

/** The real command layer of a run, logging through the action's log. */
export function execCommands(
  o: CommandsWhere & {
    settings: { context: string; dryRun: boolean }
    cancellation: Cancellation
    onInterruption?: (i: Interruption) => void
  }
): CommandRunner {
  return new ExecCommandRunner({
    helmPath: o.helmPath,
    kubectlPath: o.kubectlPath,
    kubeconfigPath: o.kubeconfigPath,
    context: o.settings.context || undefined,
    dryRun: o.settings.dryRun,
    cancellation: o.cancellation,
    deadline: o.deadline,
    onInterruption: o.onInterruption,
    apiSocketPath: o.apiSocketPath,
    log: info,
    warn: warning,
    debug
  })
}

export async function withSession<S extends { kubeconfig: string }, T extends ToolPaths, R>(
  o: SessionOptions<S, T>,
  work: (session: Session<T>) => Promise<R>
): Promise<R> {
  const workDir = await createWorkDir()
  saveWorkDir(workDir)
  let kubeconfigPath: string | undefined
  if (o.settings.kubeconfig) {
    kubeconfigPath = join(workDir, 'kubeconfig')
    await writePrivateFile(kubeconfigPath, o.settings.kubeconfig)
  }
  const tools = await core.group('Install helm and kubectl', () =>
    withDeadline(
      o.install(o.settings, join(workDir, 'bin')),
      o.budget.limit(INSTALL_LIMIT_MS, 'installing tools'),
      'installing helm and kubectl',
      o.signal
    )
  )
  const commands = o.commands({
    helmPath: tools.helmPath,
    kubectlPath: tools.kubectlPath,
    kubeconfigPath,
    deadline: o.budget.deadline,
    apiSocketPath: join(workDir, 'api.sock')
  })
  try {
    // Credentials a command reads from the cluster are masked before anything can print them.
    const runner = cancellableRunner(maskingRunner(commands, core.setSecret), o.signal)
    return await work({ workDir, kubeconfigPath, tools, runner })
  } finally {
    await commands.close?.()
  }
}

export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  signal: AbortSignal
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${Math.round(ms / 1000)}s ${what}.`)),
      ms
    )
    onAbort = () => reject(new CancelledError(`the run was cancelled while ${what}`))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([work, deadline]).finally(() => {
    clearTimeout(timer)
    if (onAbort) signal.removeEventListener('abort', onAbort)
  })
}
