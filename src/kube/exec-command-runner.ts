/**
 * The one real `CommandRunner`: spawns kubectl / helm directly (no shell), with a hard timeout,
 * retries on transient API errors, and never echoes stdin or (secret) stdout.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { constants as osConstants, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as core from '@actions/core'
import {
  CommandError,
  describeCommand,
  type Command,
  type CommandResult,
  type CommandRunner
} from './command-runner.js'
import { CancelledError } from '../run/cancellation.js'
import { ApiRequestError, KubectlProxy, type ApiTransport } from './api-proxy.js'
import { apiErrorText } from './api-status.js'
import { backoffDelayMs, formatSeconds, isTransientError } from './transient-errors.js'

export interface ExecRunnerOptions {
  kubectlPath: string
  helmPath: string
  /** Sets KUBECONFIG for the children. */
  kubeconfigPath?: string
  /** kubectl: `--context <c>` is prepended; helm: `--kube-context <c>`. */
  context?: string
  /** Defence in depth: a mutating command throws `CommandError` before anything is spawned. */
  dryRun?: boolean
  /** Default `core.info`. */
  log?: (line: string) => void
  /** Default `core.debug`. */
  debug?: (line: string) => void
  /** One-line retry warnings. Default `core.warning`. */
  warn?: (line: string) => void
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>
  /** Injectable jitter source for the backoff, in [0, 1). Default `Math.random`. */
  random?: () => number
  /** The clock retries are timed by (epoch ms). Injectable for tests. Default `Date.now`. */
  now?: () => number
  /** Attempts in all for a read that timed out, first one included. Default 4. */
  maxAttempts?: number
  /**
   * How long one command keeps being retried on transient errors (connection refused, 5xx…),
   * from its first start, when its own `timeoutMs` is shorter: an API server restart takes tens
   * of seconds. Default 120 000.
   */
  outageToleranceMs?: number
  /** The run's deadline (epoch ms): no retry starts after it. */
  deadline?: number
  /** Told once a command that hit transient errors has ended, recovered or not. */
  onInterruption?: (interruption: Interruption) => void
  /** Between SIGTERM and SIGKILL on timeout. Default 5000. */
  killGraceMs?: number
  /**
   * The run's cancellation (run/cancellation.ts): at `signal` nothing new starts and running
   * reads and waits are stopped; mutating commands are stopped only at `urgent`.
   */
  cancellation?: { signal: AbortSignal; urgent: AbortSignal }
  /**
   * Where the `kubectl proxy` for `api` commands listens: a path in the run's private directory.
   * Default: a socket in a new private temporary directory.
   */
  apiSocketPath?: string
  /** Replaces kubectl proxy for `api` commands (unit tests). */
  apiTransport?: ApiTransport
}

/** A command the API server (or the network to it) failed for a while. */
export interface Interruption {
  /** The command as the plan shows it. */
  command: string
  /** The first transient error's last stderr line. */
  error: string
  /** Retries made after transient errors. */
  retries: number
  /** From the first transient failure to the end of the command. */
  outageMs: number
  /** Whether the command went through in the end. */
  recovered: boolean
}

/** Between SIGTERM and SIGKILL when the run is cancelled: the runner's SIGKILL is near. */
const CANCEL_KILL_GRACE_MS = 1000

/** sockaddr_un's sun_path is 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107

/** A retry is not worth starting with less time than this left. */
const MIN_ATTEMPT_MS = 1000

/** Lines of stderr quoted in an error message. */
const STDERR_TAIL_LINES = 10
/** At most this much stdout goes to the debug log. */
const DEBUG_STDOUT_LIMIT = 64 * 1024
/** After the process exits, wait this long for its pipes to close (a grandchild may hold them). */
const PIPE_CLOSE_GRACE_MS = 1000

interface Attempt {
  result: CommandResult
  timedOut: boolean
  signal: NodeJS.Signals | null
  /** Stopped because the run was cancelled. */
  cancelled: boolean
}

export class ExecCommandRunner implements CommandRunner {
  private readonly log: (line: string) => void
  private readonly debug: (line: string) => void
  private readonly warn: (line: string) => void
  private readonly sleep: (ms: number) => Promise<void>
  private readonly random: () => number
  private readonly maxAttempts: number
  private readonly killGraceMs: number
  private readonly now: () => number
  private readonly outageToleranceMs: number
  private transport: ApiTransport | undefined
  private ownSocketDir: string | undefined

  constructor(private readonly opts: ExecRunnerOptions) {
    this.log = opts.log ?? (line => core.info(line))
    this.debug = opts.debug ?? (line => core.debug(line))
    this.warn = opts.warn ?? (line => core.warning(line))
    this.sleep = opts.sleep ?? (ms => new Promise(resolve => setTimeout(resolve, ms)))
    this.random = opts.random ?? Math.random
    this.maxAttempts = Math.max(1, Math.floor(opts.maxAttempts ?? 4))
    this.killGraceMs = opts.killGraceMs ?? 5000
    this.now = opts.now ?? Date.now
    this.outageToleranceMs = opts.outageToleranceMs ?? 120_000
    this.transport = opts.apiTransport
  }

  /** The API proxy, started with the first `api` command. */
  private api(): ApiTransport {
    if (this.transport) return this.transport
    let socketPath = this.opts.apiSocketPath
    // A unix socket's path has room for 107 bytes; a deep RUNNER_TEMP on a self-hosted runner may
    // not fit, so the socket goes to a private directory of its own (mkdtemp: mode 0700).
    if (socketPath === undefined || Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      this.ownSocketDir = mkdtempSync(join(tmpdir(), 'rr-api-'))
      socketPath = join(this.ownSocketDir, 'api.sock')
    }
    this.transport = new KubectlProxy({
      kubectlPath: this.opts.kubectlPath,
      globalArgs: this.argv({ tool: 'kubectl', args: [] }),
      env: () => this.env(),
      socketPath
    })
    return this.transport
  }

  async close(): Promise<void> {
    await this.transport?.close()
    if (this.ownSocketDir) rmSync(this.ownSocketDir, { recursive: true, force: true })
  }

  /** The children's environment, read when each command starts. */
  private env(): NodeJS.ProcessEnv {
    const kubeconfig = this.opts.kubeconfigPath
    return kubeconfig === undefined
      ? { ...process.env }
      : { ...process.env, KUBECONFIG: kubeconfig }
  }

  /** The argv actually passed to the tool: the context flag first, then the command's args. */
  argv(command: Pick<Command, 'tool' | 'args'>): string[] {
    const ctx = this.opts.context
    if (command.tool === 'api' || ctx === undefined || ctx === '') return [...command.args]
    const flag = command.tool === 'kubectl' ? '--context' : '--kube-context'
    return [flag, ctx, ...command.args]
  }

  async run(command: Command): Promise<CommandResult> {
    const args = this.argv(command)
    const described = describeCommand({ ...command, args })
    if (this.opts.dryRun && command.mutating) {
      throw new CommandError(
        `dry run: refusing to run mutating command ${described}`,
        command,
        undefined
      )
    }
    const path = command.tool === 'kubectl' ? this.opts.kubectlPath : this.opts.helmPath
    const retryable = command.retry !== 'never'
    const started = Date.now()
    // Retries stop at the later of the command's own limit and the outage tolerance, never past
    // the run's deadline; a retried attempt gets only the time left, so a long wait that has to
    // be started again still ends when it was planned to.
    const giveUpAt = Math.min(
      this.now() + Math.max(command.timeoutMs, this.outageToleranceMs),
      this.opts.deadline ?? Number.POSITIVE_INFINITY
    )
    let outage: { since: number; error: string; retries: number } | undefined
    const tell = (recovered: boolean): void => {
      if (outage === undefined) return
      this.opts.onInterruption?.({
        command: describeCommand(command),
        error: outage.error,
        retries: outage.retries,
        outageMs: this.now() - outage.since,
        recovered
      })
    }

    for (let attempt = 1; ; attempt++) {
      const attemptMs =
        attempt === 1
          ? command.timeoutMs
          : Math.max(1, Math.min(command.timeoutMs, giveUpAt - this.now()))
      this.log(`[command] ${described}`)
      const a =
        command.tool === 'api'
          ? await this.requestOnce({ ...command, timeoutMs: attemptMs })
          : await this.spawnOnce(path, args, { ...command, timeoutMs: attemptMs }, described)
      const result: CommandResult = { ...a.result, durationMs: Date.now() - started }
      // When each command ended, for the benchmark's timeline and for reading a slow run.
      this.debug(`[end] ${described}: exit ${a.result.exitCode} after ${a.result.durationMs}ms`)
      this.debugOutput(command, a.result)
      if (a.cancelled) {
        tell(false)
        throw new CancelledError(
          `${described} was stopped after ${formatSeconds(result.durationMs)}: the run was cancelled`
        )
      }

      const transient = !a.timedOut && isTransientError(result.stderr, result.exitCode)
      if (!a.timedOut && !transient && (result.exitCode === 0 || command.allowFailure)) {
        tell(true)
        return result
      }

      const lastLine = lastLines(result.stderr, 1)[0] ?? ''
      const delay = backoffDelayMs(attempt, this.random)
      const timeLeft = this.now() + delay + MIN_ATTEMPT_MS <= giveUpAt
      const shouldRetry =
        retryable &&
        timeLeft &&
        (a.timedOut ? !command.mutating && attempt < this.maxAttempts : transient)
      if (transient) {
        outage ??= { since: this.now(), error: lastLine, retries: 0 }
      }
      if (shouldRetry) {
        if (outage !== undefined && transient) outage.retries++
        const why = a.timedOut ? `timed out after ${formatSeconds(attemptMs)}` : lastLine
        const left = Math.max(0, Math.round((giveUpAt - this.now()) / 1000))
        this.warn(
          `${a.timedOut ? 'timeout' : 'transient error'}, retrying in ${formatSeconds(delay)} ` +
            `(attempt ${attempt + 1}, up to ${left}s more): ${why}`
        )
        await this.sleep(delay)
        if (this.opts.cancellation?.signal.aborted) {
          tell(false)
          throw new CancelledError(`${described} was not retried: the run was cancelled`)
        }
        continue
      }

      tell(false)
      const after = attempt > 1 ? ` (after ${attempt} attempts)` : ''
      const head = a.timedOut
        ? `${described} timed out after ${formatSeconds(attemptMs)}${after}`
        : a.signal !== null
          ? `${described} was killed by ${a.signal}${after}`
          : `${described} failed with exit code ${result.exitCode}${after}`
      const tail = lastLines(result.stderr, STDERR_TAIL_LINES)
      const message = tail.length > 0 ? `${head}\n${tail.join('\n')}` : head
      // A secret's stdout must not travel with the error (someone may log the whole object).
      const carried = command.secretOutput ? { ...result, stdout: '' } : result
      throw new CommandError(message, command, carried, a.timedOut)
    }
  }

  private debugOutput(command: Command, result: CommandResult): void {
    if (!command.secretOutput && result.stdout !== '') {
      const out =
        result.stdout.length > DEBUG_STDOUT_LIMIT
          ? `${result.stdout.slice(0, DEBUG_STDOUT_LIMIT)}\n... (${result.stdout.length - DEBUG_STDOUT_LIMIT} more characters)`
          : result.stdout
      this.debug(`[stdout] ${out}`)
    }
    if (result.stderr !== '') this.debug(`[stderr] ${result.stderr}`)
  }

  /** One API request, answered as a kubectl process would: exit code, stdout, stderr. */
  private async requestOnce(command: Command): Promise<Attempt> {
    const started = Date.now()
    const [method = 'GET', path = '/'] = command.args
    const stopOn =
      command.mutating || command.duringCancel
        ? this.opts.cancellation?.urgent
        : this.opts.cancellation?.signal
    const answer = (exitCode: number, stdout: string, stderr: string, more = {}): Attempt => ({
      result: { exitCode, stdout, stderr, durationMs: Date.now() - started },
      timedOut: false,
      signal: null,
      cancelled: false,
      ...more
    })
    try {
      const r = await this.api().request({
        method,
        path,
        body: command.stdin,
        // A PATCH is a JSON merge patch; a manifest may be YAML or JSON (the API server reads both).
        contentType:
          method === 'PATCH'
            ? 'application/merge-patch+json'
            : command.stdin?.trimStart().startsWith('{')
              ? 'application/json'
              : 'application/yaml',
        accept: command.metadataOnly
          ? 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'
          : 'application/json',
        timeoutMs: command.timeoutMs,
        signal: stopOn
      })
      if (r.status >= 200 && r.status < 300) return answer(0, r.body, '')
      if (r.status === 404 && command.notFoundEmpty) return answer(0, '', '')
      return answer(1, '', apiErrorText(r.status, r.body))
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e)
      if (e instanceof ApiRequestError && e.aborted)
        return answer(-1, '', message, { cancelled: true })
      if (e instanceof ApiRequestError && e.timedOut)
        return answer(-1, '', message, { timedOut: true })
      return answer(1, '', message)
    }
  }

  private spawnOnce(
    path: string,
    args: string[],
    command: Command,
    described: string
  ): Promise<Attempt> {
    return new Promise<Attempt>((resolve, reject) => {
      const started = Date.now()
      const stdout: Buffer[] = []
      const stderr: Buffer[] = []
      let timedOut = false
      let cancelled = false
      let settled = false
      let exitCode: number | null = null
      let exitSignal: NodeJS.Signals | null = null
      const timers: NodeJS.Timeout[] = []

      let child: ChildProcessWithoutNullStreams
      try {
        child = spawn(path, args, {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: this.env(),
          shell: false
        })
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err)
        reject(new CommandError(`${described} could not be started: ${why}`, command, undefined))
        return
      }

      const deadline = setTimeout(() => {
        timedOut = true
        child.kill('SIGTERM')
        timers.push(setTimeout(() => child.kill('SIGKILL'), this.killGraceMs))
      }, command.timeoutMs)
      timers.push(deadline)

      // A change half-made by a killed Helm is worse than one finished: those go only when urgent.
      const stopOn =
        command.mutating || command.duringCancel
          ? this.opts.cancellation?.urgent
          : this.opts.cancellation?.signal
      const stop = (): void => {
        if (settled || exitCode !== null || exitSignal !== null) return
        cancelled = true
        child.kill('SIGTERM')
        timers.push(setTimeout(() => child.kill('SIGKILL'), CANCEL_KILL_GRACE_MS))
      }
      const unlisten = (): void => stopOn?.removeEventListener('abort', stop)
      if (stopOn?.aborted) queueMicrotask(stop)
      else stopOn?.addEventListener('abort', stop, { once: true })

      const finish = (): void => {
        if (settled) return
        settled = true
        unlisten()
        timers.forEach(t => clearTimeout(t))
        child.stdout.destroy()
        child.stderr.destroy()
        let code = exitCode ?? -1
        if (exitCode === null && exitSignal !== null) {
          code = 128 + (osConstants.signals[exitSignal] ?? 0)
        }
        resolve({
          result: {
            exitCode: code,
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
            durationMs: Date.now() - started
          },
          timedOut,
          signal: exitSignal,
          cancelled
        })
      }

      child.stdout.on('data', (b: Buffer) => stdout.push(b))
      child.stderr.on('data', (b: Buffer) => stderr.push(b))
      // The child may exit without reading its stdin: EPIPE is not our failure.
      child.stdin.on('error', () => undefined)

      child.on('error', err => {
        if (settled) return
        settled = true
        unlisten()
        timers.forEach(t => clearTimeout(t))
        const what = child.pid === undefined ? 'could not be started' : 'failed'
        reject(new CommandError(`${described} ${what}: ${err.message}`, command, undefined))
      })
      child.on('exit', (code, signal) => {
        exitCode = code
        exitSignal = signal
        clearTimeout(deadline)
        timers.push(setTimeout(finish, PIPE_CLOSE_GRACE_MS))
      })
      child.on('close', (code, signal) => {
        exitCode = exitCode ?? code
        exitSignal = exitSignal ?? signal
        finish()
      })

      if (command.stdin !== undefined) child.stdin.end(command.stdin)
      else child.stdin.end()
    })
  }
}

/** The last `n` non-empty lines of `text`, right-trimmed. */
function lastLines(text: string, n: number): string[] {
  return text
    .split(/\r?\n/)
    .map(l => l.trimEnd())
    .filter(l => l.trim() !== '')
    .slice(-n)
}
