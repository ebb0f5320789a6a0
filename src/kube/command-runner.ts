/**
 * The one door to kubectl and helm. Pure code builds `Command` values; only an implementation
 * of `CommandRunner` (exec-command-runner.ts, or a scripted fake in tests) runs them.
 */

/**
 * `api`: one request to the Kubernetes API through the run's `kubectl proxy` (api-proxy.ts), so it
 * authenticates exactly as kubectl does. Its `args` are `[method, path]`.
 */
export type Tool = 'kubectl' | 'helm' | 'api'

export interface Command {
  tool: Tool
  /** Argument array; never a shell string. Never holds a secret: use `stdin`. */
  args: string[]
  /** Sent on standard input (manifests, secrets). Never logged. */
  stdin?: string
  /** What stdin holds, in words, for plans and logs (never secret), e.g. `Restore r-1 (prune: true)`. */
  about?: string
  /** Hard deadline: the process is killed when it passes. */
  timeoutMs: number
  /** Whether the command changes the cluster. A dry run refuses to run any mutating command. */
  mutating: boolean
  /**
   * `transient`: retried with backoff on transient API errors (connection refused/reset, timeouts,
   * 429, 5xx, etcd leader change). `never`: for steps where a repeat could do harm (helm upgrades).
   * Defaults to `transient`.
   */
  retry?: 'transient' | 'never'
  /** When true a non-zero exit is returned, not thrown (e.g. "not found" is an answer). */
  allowFailure?: boolean
  /** Output holds secrets: never echo it, and keep it out of error messages. */
  secretOutput?: boolean
  /** May still start once the run is cancelled: releasing the lock. */
  duringCancel?: boolean
  /** `api` only: a 404 is an answer, an empty stdout (kubectl's `--ignore-not-found`). */
  notFoundEmpty?: boolean
  /**
   * `api` only: ask for the object's metadata alone (PartialObjectMetadata): a Secret's data never
   * leaves the API server.
   */
  metadataOnly?: boolean
}

export interface CommandResult {
  exitCode: number
  stdout: string
  stderr: string
  durationMs: number
}

export interface CommandRunner {
  run(command: Command): Promise<CommandResult>
  /** Ends what the runner keeps open between commands (the API proxy). */
  close?(): Promise<void>
}

/** Thrown for a failed command; its message ends with the last lines of stderr. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly command: Command,
    readonly result: CommandResult | undefined,
    readonly timedOut: boolean = false
  ) {
    super(message)
    this.name = 'CommandError'
  }
}

/**
 * The API server answered "already exists": for a create that may have gone through on an earlier
 * (retried) attempt, or that another run won, this is an answer rather than a failure.
 */
export function isAlreadyExists(e: unknown): boolean {
  return e instanceof CommandError && /AlreadyExists|already exists/i.test(e.result?.stderr ?? '')
}

/** A printable form of a command for logs, plans and the summary. Arguments are never secret. */
export function describeCommand(
  command: Pick<Command, 'tool' | 'args' | 'stdin' | 'about' | 'metadataOnly'>
): string {
  if (command.tool === 'api') {
    const line = `${command.args.join(' ')}${command.metadataOnly ? ' (metadata only)' : ''}`
    return command.stdin === undefined ? line : `${line} < (${command.about ?? 'body'})`
  }
  const quoted = command.args.map(a =>
    /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`
  )
  const line = [command.tool, ...quoted].join(' ')
  return command.stdin === undefined ? line : `${line} < (${command.about ?? 'stdin'})`
}
