/**
 * Cancellation as the runner does it (actions/runner src/Runner.Sdk/ProcessInvoker.cs,
 * CancelAndKillProcessTree): SIGINT to the action's process, SIGTERM 7.5 s later (_sigintTimeout),
 * SIGKILL 2.5 s after that (_sigtermTimeout). A `timeout-minutes` ends a job the same way.
 *
 * The first signal cancels: no new command starts (but the lock release), waits and reads end at
 * once. A mutating Helm command already running keeps going, because killing Helm half-way leaves
 * the release `pending-*`; it is stopped only when the run turns urgent: at the second signal,
 * or URGENT_AFTER_MS after the first, leaving time to report, release the lock and exit before
 * SIGKILL.
 */
import {
  describeCommand,
  type Command,
  type CommandResult,
  type CommandRunner
} from '../kube/command-runner.js'

export const URGENT_AFTER_MS = 6_000

export class Cancellation {
  private readonly cancelled = new AbortController()
  private readonly urgency = new AbortController()
  private timer: NodeJS.Timeout | undefined
  /** The signal that cancelled the run, and when ('' until then). */
  cause = ''
  at: Date | undefined

  constructor(
    private readonly urgentAfterMs = URGENT_AFTER_MS,
    private readonly now: () => Date = () => new Date()
  ) {}

  /** Aborts at the first signal. */
  get signal(): AbortSignal {
    return this.cancelled.signal
  }

  /** Aborts at the second signal, or URGENT_AFTER_MS after the first. */
  get urgent(): AbortSignal {
    return this.urgency.signal
  }

  cancel(cause: string): void {
    if (this.cancelled.signal.aborted) {
      this.urgency.abort()
      return
    }
    this.cause = cause
    this.at = this.now()
    this.cancelled.abort()
    this.timer = setTimeout(() => this.urgency.abort(), this.urgentAfterMs)
    this.timer.unref()
  }

  /** SIGINT and SIGTERM cancel instead of killing the process at once (Node's default). */
  listen(proc: Pick<NodeJS.Process, 'on' | 'off'> = process): () => void {
    const onInt = () => this.cancel('SIGINT')
    const onTerm = () => this.cancel('SIGTERM')
    proc.on('SIGINT', onInt)
    proc.on('SIGTERM', onTerm)
    return () => {
      proc.off('SIGINT', onInt)
      proc.off('SIGTERM', onTerm)
      if (this.timer) clearTimeout(this.timer)
    }
  }
}

/** What a step was doing when the run was cancelled, for the report and the next run. */
export class CancelledError extends Error {
  override name = 'CancelledError'
}

/** Once cancelled, a command starts only if it may run during a cancel (the lock release). */
export function cancellableRunner(inner: CommandRunner, signal: AbortSignal): CommandRunner {
  return {
    run(command: Command): Promise<CommandResult> {
      if (signal.aborted && !command.duringCancel) {
        return Promise.reject(
          new CancelledError(`${describeCommand(command)} was not started: the run was cancelled`)
        )
      }
      return inner.run(command)
    }
  }
}
