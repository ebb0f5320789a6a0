/**
 * Runs the committed bundle exactly as a GitHub runner does: every input of action.yml present as
 * INPUT_<NAME> (defaults filled in by the runner), GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
 * GITHUB_STATE files, RUNNER_TEMP and RUNNER_TOOL_CACHE, under Node 24; then the post step with
 * the state main saved.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { load } from 'js-yaml'
import { paths } from './paths.js'

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))

export interface ActionRun {
  exitCode: number
  /** stdout + stderr of main, as the job log shows it. */
  log: string
  outputs: Record<string, string>
  summary: string
  /** Exit code and log of the post step. */
  post: { exitCode: number; log: string }
  /** Signals sent to main (cancelOn / killOn), in order, with ms since it started. */
  signals: { signal: NodeJS.Signals; atMs: number }[]
  /** The signal main died of, if any (null: it exited by itself). */
  exitSignal: NodeJS.Signals | null
  runnerTemp: string
  /** When main started (epoch ms): `timeline` and `durationMs` count from here. */
  startedAtMs: number
  durationMs: number
  /** Main was killed (SIGKILL) because its log matched `killOn` or reached `killAt`. */
  killed: boolean
  /** Where `killAt` killed the run: the line that marked the point, and when (ms since start). */
  killedAt?: { line: string; atMs: number }
  /** Processes of this job still alive after main (and, after `killAt`, its tree) ended. */
  leftovers: string[]
  /** Main's log lines with when each arrived (ms since start): the benchmark's phases. */
  timeline: { atMs: number; line: string }[]
}

/**
 * A point to kill the run at: the first log line matching `on`, and `afterMs` later (0: at once).
 * See `stepStart` and `inCommand`.
 */
export interface KillPoint {
  on: RegExp
  afterMs?: number
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The executor's line for a step's start: `▶ <title>` (src/run/executor.ts), title by prefix. */
export const stepStart = (titlePrefix: string): KillPoint => ({
  on: new RegExp(`^▶ ${escape(titlePrefix)}`)
})

/** `afterMs` after the command layer logs `[command] <prefix>…` (src/kube/exec-command-runner.ts). */
export const inCommand = (commandPrefix: string, afterMs: number): KillPoint => ({
  on: new RegExp(`^\\[command\\] ${escape(commandPrefix)}`),
  afterMs
})

export interface RunActionOptions {
  inputs: Record<string, string>
  /**
   * The action's metadata file, relative to the repository root (default `action.yml`; the
   * companion's is `backup/action.yml`): its input defaults are filled in and its `runs.main` /
   * `runs.post` run, resolved against its own directory as the runner does.
   */
  action?: string
  /** Shared between runs to prove cache hits; default: a fresh directory. */
  toolCache?: string
  /** Extra environment (e.g. GITHUB_RUN_ID to tell two runs apart). */
  env?: Record<string, string>
  /** Kill the run after this long (default 15 minutes). */
  timeoutMs?: number
  /**
   * Cancel the run as the runner does once a log line matches: SIGINT, SIGTERM 7.5 s later,
   * SIGKILL 2.5 s after that (actions/runner ProcessInvoker.cs).
   */
  cancelOn?: RegExp
  /**
   * SIGKILL the main process when its log matches, as a runner that dies mid-step does (its
   * children, e.g. a `kubectl wait`, are not killed). No post step runs then.
   */
  killOn?: RegExp
  /**
   * SIGKILL the action and every process of its job at this point, as a runner does when a job is
   * cancelled or times out and the action ignores SIGINT and SIGTERM: it kills the node process
   * (ProcessInvoker.cs NixKillProcessTree, `Process.Kill()`), and at the end of the job every
   * process whose environment carries the job's RUNNER_TRACKING_ID ("Cleaning up orphan
   * processes", JobExtension.cs); a runner machine that dies ends them all the same. So a `helm
   * rollback` in flight dies with it, unlike with `killOn`. No post step runs, as for a dead
   * runner, and no time passes between the two kills (the harsher case: Helm gets no grace).
   */
  killAt?: KillPoint
}

/** actions/runner src/Runner.Sdk/ProcessInvoker.cs: _sigintTimeout, _sigtermTimeout. */
const SIGINT_TIMEOUT_MS = 7_500
const SIGTERM_TIMEOUT_MS = 2_500

interface ActionMetadata {
  defaults: Record<string, string>
  main: string
  post: string | undefined
}

function readAction(file: string): ActionMetadata {
  const path = join(REPO_ROOT, file)
  const action = load(readFileSync(path, 'utf8')) as {
    inputs: Record<string, { default?: string }>
    runs: { main: string; post?: string }
  }
  const dir = dirname(path)
  return {
    defaults: Object.fromEntries(
      Object.entries(action.inputs).map(([name, spec]) => [name, String(spec.default ?? '')])
    ),
    main: resolve(dir, action.runs.main),
    post: action.runs.post === undefined ? undefined : resolve(dir, action.runs.post)
  }
}

/** GITHUB_OUTPUT / GITHUB_STATE use `name<<delimiter` heredocs. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/^(.+?)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm)) {
    out[m[1]!] = m[3]!
  }
  return out
}

interface NodeRun {
  exitCode: number
  log: string
  signals: ActionRun['signals']
  exitSignal: NodeJS.Signals | null
  killedAt?: ActionRun['killedAt']
  timeline: ActionRun['timeline']
}

/** The runner's env var for telling a job's processes apart (actions/runner Constants.ProcessTrackingId). */
const TRACKING_ID = 'RUNNER_TRACKING_ID'

/** Every live process whose environment carries `trackingId`, as `pid command line`. */
export function trackedProcesses(trackingId: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
      if (!environ.includes(`${TRACKING_ID}=${trackingId}`)) continue
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
      found.push({ pid, command })
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found
}

/** SIGKILL every process of the job at once, then whatever it had started meanwhile. */
function killJob(trackingId: string): void {
  for (let round = 0; round < 5; round++) {
    const procs = trackedProcesses(trackingId)
    if (procs.length === 0) return
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
}

function runNode(
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
  on: Pick<RunActionOptions, 'cancelOn' | 'killOn' | 'killAt'> = {}
) {
  return new Promise<NodeRun>(done => {
    const started = Date.now()
    // A kill at a line (not some time after it) holds the action there until it lands.
    const hold = on.killAt !== undefined && !on.killAt.afterMs
    const child = spawn(
      paths.node24,
      hold
        ? ['--import', pathToFileURL(join(REPO_ROOT, 'testbed', 'kill-hold.mjs')).href, script]
        : [script],
      {
        env: hold ? { ...env, RR_TESTBED_HOLD_ON: on.killAt!.on.source } : env,
        stdio: ['ignore', 'pipe', 'pipe']
      }
    )
    let log = ''
    const signals: NodeRun['signals'] = []
    const timers: NodeJS.Timeout[] = []
    const send = (signal: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      signals.push({ signal, atMs: Date.now() - started })
      child.kill(signal)
    }
    let triggered = false
    let killedAt: NodeRun['killedAt']
    let partial = ''
    /** killAt: looks at whole lines only, so a line split across chunks still matches. */
    const reached = (chunk: string): string | undefined => {
      if (!on.killAt) return undefined
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      return lines.find(l => on.killAt!.on.test(l))
    }
    const timeline: NodeRun['timeline'] = []
    let pending = ''
    const watch = (d: Buffer) => {
      log += String(d)
      const atMs = Date.now() - started
      const lines = (pending + String(d)).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) timeline.push({ atMs, line })
      if (triggered) return
      const line = reached(String(d))
      if (line !== undefined) {
        triggered = true
        const kill = () => {
          if (child.exitCode !== null || child.signalCode !== null) return
          signals.push({ signal: 'SIGKILL', atMs: Date.now() - started })
          killedAt = { line, atMs: Date.now() - started }
          // Main first, at once (reading /proc takes a while); its children keep the tracking id.
          child.kill('SIGKILL')
          killJob(env[TRACKING_ID]!)
        }
        const after = on.killAt!.afterMs ?? 0
        if (after === 0) kill()
        else timers.push(setTimeout(kill, after))
      } else if (on.killOn?.test(log)) {
        triggered = true
        send('SIGKILL')
      } else if (on.cancelOn?.test(log)) {
        triggered = true
        send('SIGINT')
        timers.push(
          setTimeout(() => send('SIGTERM'), SIGINT_TIMEOUT_MS),
          setTimeout(() => send('SIGKILL'), SIGINT_TIMEOUT_MS + SIGTERM_TIMEOUT_MS)
        )
      }
    }
    child.stdout.on('data', watch)
    child.stderr.on('data', watch)
    timers.push(setTimeout(() => child.kill('SIGKILL'), timeoutMs))
    child.on('close', (code, signal) => {
      timers.forEach(t => clearTimeout(t))
      // A child that main forked as it died escaped the first sweep: sweep again once main is
      // gone (as the runner's orphan cleanup does, after main).
      if (killedAt !== undefined) killJob(env[TRACKING_ID]!)
      if (pending !== '') timeline.push({ atMs: Date.now() - started, line: pending })
      done({ exitCode: code ?? 1, log, signals, exitSignal: signal, killedAt, timeline })
    })
  })
}

export async function runAction(opts: RunActionOptions): Promise<ActionRun> {
  const home = mkdtempSync(join(tmpdir(), 'rr-runner-'))
  const runnerTemp = join(home, 'temp')
  const toolCache = opts.toolCache ?? join(home, 'tool-cache')
  mkdirSync(runnerTemp)
  mkdirSync(toolCache, { recursive: true })
  const files = {
    output: join(home, 'output'),
    summary: join(home, 'summary'),
    state: join(home, 'state')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')

  const action = readAction(opts.action ?? 'action.yml')
  const inputs = { ...action.defaults, ...opts.inputs }
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/platform',
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'rollback',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    RUNNER_TEMP: runnerTemp,
    RUNNER_TOOL_CACHE: toolCache,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    [TRACKING_ID]: `github_${randomUUID()}`,
    ...opts.env
  }
  for (const [name, value] of Object.entries(inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }

  const started = Date.now()
  const timeout = opts.timeoutMs ?? 15 * 60_000
  const main = await runNode(action.main, env, timeout, opts)
  const durationMs = Date.now() - started
  const state = parseFileCommands(readFileSync(files.state, 'utf8'))
  const postEnv = { ...env }
  for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v
  const leftovers = trackedProcesses(env[TRACKING_ID]!).map(p => `${p.pid} ${p.command}`)
  // The job's end kills its orphans (JobExtension.cs "Cleaning up orphan processes"). A killed
  // main's kubectl proxy, unlike its `kubectl wait`, never ends by itself: end it as that would.
  if (opts.killOn) {
    for (const p of trackedProcesses(env[TRACKING_ID]!)) {
      if (!/ proxy --unix-socket=/.test(p.command)) continue
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
  }
  // A runner that died (killOn, killAt) runs no post step; a cancelled job still runs it (post-if: always()).
  const post =
    main.killedAt !== undefined || opts.killOn?.test(main.log)
      ? { exitCode: -1, log: 'not run: the runner died with main' }
      : action.post === undefined
        ? { exitCode: 0, log: 'no post step' }
        : await runNode(action.post, postEnv, 60_000)
  const result: ActionRun = {
    exitCode: main.exitCode,
    log: main.log,
    outputs: parseFileCommands(readFileSync(files.output, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
    post: { exitCode: post.exitCode, log: post.log },
    signals: main.signals,
    exitSignal: main.exitSignal,
    runnerTemp,
    startedAtMs: started,
    durationMs,
    killed: main.signals.some(s => s.signal === 'SIGKILL'),
    killedAt: main.killedAt,
    leftovers,
    timeline: main.timeline
  }
  // The runner empties its temp directory when a job ends, after its orphans are gone; each run
  // here is a job (about 120 MB: the action's private tool copies). After `killOn` main's children
  // live on (a `kubectl wait` still writes its discovery cache under HOME): left for them.
  // RR_KEEP_RUNS=1 keeps every run for a look.
  if (!process.env.RR_KEEP_RUNS && !opts.killOn) {
    try {
      rmSync(home, { recursive: true, force: true, maxRetries: 3 })
    } catch (e) {
      process.stderr.write(`[testbed] could not remove ${home}: ${(e as Error).message}\n`)
    }
  }
  return result
}
