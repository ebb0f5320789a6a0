import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CommandError, type Command } from '../src/kube/command-runner.js'
import {
  ExecCommandRunner,
  type ExecRunnerOptions,
  type Interruption
} from '../src/kube/exec-command-runner.js'
import { Cancellation, CancelledError, cancellableRunner } from '../src/run/cancellation.js'

/**
 * A stand-in for kubectl and helm. It reads its behaviour from the JSON file named by
 * FAKE_TOOL_CONFIG, counts its invocations in FAKE_TOOL_COUNTER, and by default prints
 * `{tool, argv, stdin, kubeconfig}` as JSON.
 */
const FAKE = `#!/usr/bin/env node
const fs = require('node:fs')
const path = require('node:path')
const cfg = JSON.parse(fs.readFileSync(process.env.FAKE_TOOL_CONFIG, 'utf8'))
const counterFile = process.env.FAKE_TOOL_COUNTER
const n = (fs.existsSync(counterFile) ? Number(fs.readFileSync(counterFile, 'utf8')) : 0) + 1
fs.writeFileSync(counterFile, String(n))
if (cfg.ignoreTerm) process.on('SIGTERM', () => {})
const chunks = []
process.stdin.on('data', c => chunks.push(c))
process.stdin.on('end', () => {
  const stdin = Buffer.concat(chunks).toString('utf8')
  const report = {
    tool: path.basename(process.argv[1]),
    argv: process.argv.slice(2),
    stdin,
    kubeconfig: process.env.KUBECONFIG ?? null
  }
  fs.appendFileSync(process.env.FAKE_TOOL_RECORD, JSON.stringify(report) + '\\n')
  const act = () => {
    if (n <= (cfg.failTimes ?? 0)) {
      process.stderr.write(cfg.failStderr)
      process.exit(cfg.failExit ?? 1)
    }
    process.stdout.write(cfg.stdout ?? JSON.stringify(report))
    if (cfg.stderr) process.stderr.write(cfg.stderr)
    process.exit(cfg.exitCode ?? 0)
  }
  if (cfg.sleepMs) {
    if (cfg.announce) process.stderr.write('started\\n')
    setTimeout(act, cfg.sleepMs)
  } else act()
})
`

interface FakeConfig {
  stdout?: string
  stderr?: string
  exitCode?: number
  failTimes?: number
  failStderr?: string
  failExit?: number
  sleepMs?: number
  ignoreTerm?: boolean
  announce?: boolean
}

let dir: string
let kubectlPath: string
let helmPath: string
let configFile: string
let counterFile: string
let recordFile: string
const savedEnv = { ...process.env }

function configure(cfg: FakeConfig): void {
  writeFileSync(configFile, JSON.stringify(cfg))
  rmSync(counterFile, { force: true })
  rmSync(recordFile, { force: true })
}

/** What each invocation of the fake saw, in order. */
function recorded(): unknown[] {
  try {
    return readFileSync(recordFile, 'utf8')
      .split('\n')
      .filter(l => l !== '')
      .map(l => JSON.parse(l) as unknown)
  } catch {
    return []
  }
}

function invocations(): number {
  try {
    return Number(readFileSync(counterFile, 'utf8'))
  } catch {
    return 0
  }
}

interface Harness {
  runner: ExecCommandRunner
  logs: string[]
  debugs: string[]
  warnings: string[]
  sleeps: number[]
  /** The retry clock: only the runner's sleeps move it. */
  clock: number
  interruptions: Interruption[]
}

function harness(extra: Partial<ExecRunnerOptions> = {}): Harness {
  const h: Omit<Harness, 'runner'> = {
    logs: [],
    debugs: [],
    warnings: [],
    sleeps: [],
    clock: 0,
    interruptions: []
  }
  const runner = new ExecCommandRunner({
    kubectlPath,
    helmPath,
    log: l => h.logs.push(l),
    debug: l => h.debugs.push(l),
    warn: l => h.warnings.push(l),
    sleep: async ms => {
      h.sleeps.push(ms)
      h.clock += ms
    },
    now: () => h.clock,
    onInterruption: i => h.interruptions.push(i),
    random: () => 0,
    ...extra
  })
  return { runner, ...h }
}

function kubectl(args: string[], more: Partial<Command> = {}): Command {
  return { tool: 'kubectl', args, timeoutMs: 10_000, mutating: false, ...more }
}

async function failure(p: Promise<unknown>): Promise<CommandError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError)
    return err as CommandError
  }
  throw new Error('expected the command to fail')
}

const REFUSED =
  'Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused\n'

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'exec-runner-'))
  kubectlPath = join(dir, 'kubectl')
  helmPath = join(dir, 'helm')
  for (const p of [kubectlPath, helmPath]) {
    writeFileSync(p, FAKE)
    chmodSync(p, 0o755)
  }
  configFile = join(dir, 'config.json')
  counterFile = join(dir, 'counter')
  recordFile = join(dir, 'record.jsonl')
  process.env.FAKE_TOOL_RECORD = recordFile
  process.env.FAKE_TOOL_CONFIG = configFile
  process.env.FAKE_TOOL_COUNTER = counterFile
  delete process.env.KUBECONFIG
})

afterAll(() => {
  process.env = savedEnv
  rmSync(dir, { recursive: true, force: true })
})

beforeEach(() => configure({}))

describe('ExecCommandRunner: argv, environment, stdin', () => {
  it('passes args verbatim (no shell) and logs the command', async () => {
    const h = harness()
    const args = [
      'get',
      'secret',
      '-n',
      'cattle-system',
      '-o',
      'jsonpath={.data}',
      '$(rm -rf /)',
      'a b'
    ]
    const res = await h.runner.run(kubectl(args))
    const report = JSON.parse(res.stdout)
    expect(report).toEqual({ tool: 'kubectl', argv: args, stdin: '', kubeconfig: null })
    expect(res.exitCode).toBe(0)
    expect(res.durationMs).toBeGreaterThan(0)
    expect(h.logs).toEqual([
      "[command] kubectl get secret -n cattle-system -o 'jsonpath={.data}' '$(rm -rf /)' 'a b'"
    ])
  })

  it('prepends --context for kubectl and --kube-context for helm, and sets KUBECONFIG', async () => {
    const h = harness({ context: 'prod-local', kubeconfigPath: '/tmp/kc.yaml' })
    const k = JSON.parse((await h.runner.run(kubectl(['get', 'ns']))).stdout)
    expect(k.argv).toEqual(['--context', 'prod-local', 'get', 'ns'])
    expect(k.kubeconfig).toBe('/tmp/kc.yaml')
    const helm = await h.runner.run({
      tool: 'helm',
      args: ['status', 'rancher', '-n', 'cattle-system', '-o', 'json'],
      timeoutMs: 10_000,
      mutating: false
    })
    const hr = JSON.parse(helm.stdout)
    expect(hr.tool).toBe('helm')
    expect(hr.argv).toEqual([
      '--kube-context',
      'prod-local',
      'status',
      'rancher',
      '-n',
      'cattle-system',
      '-o',
      'json'
    ])
    expect(hr.kubeconfig).toBe('/tmp/kc.yaml')
    expect(h.logs[1]).toBe(
      '[command] helm --kube-context prod-local status rancher -n cattle-system -o json'
    )
  })

  it('delivers stdin and never logs it', async () => {
    configure({ stdout: 'secret/rancher-creds configured\n' })
    const h = harness()
    const secret = 'apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter2-s3cr3t\n'
    const res = await h.runner.run(kubectl(['apply', '-f', '-'], { stdin: secret, mutating: true }))
    expect(res.stdout).toBe('secret/rancher-creds configured\n')
    expect(recorded()).toEqual([
      { tool: 'kubectl', argv: ['apply', '-f', '-'], stdin: secret, kubeconfig: null }
    ])
    expect(h.logs).toEqual(['[command] kubectl apply -f - < (stdin)'])
    const everything = [...h.logs, ...h.debugs, ...h.warnings].join('\n')
    expect(everything).not.toContain('hunter2')
  })

  it('sends stdout to debug, except when secretOutput', async () => {
    configure({ stdout: 'c2VjcmV0LXZhbHVl' })
    const plain = harness()
    await plain.runner.run(kubectl(['get', 'cm']))
    expect(plain.debugs.join('\n')).toContain('c2VjcmV0LXZhbHVl')

    const secret = harness()
    const res = await secret.runner.run(kubectl(['get', 'secret', 'x'], { secretOutput: true }))
    expect(res.stdout).toBe('c2VjcmV0LXZhbHVl')
    const everything = [...secret.logs, ...secret.debugs, ...secret.warnings].join('\n')
    expect(everything).not.toContain('c2VjcmV0LXZhbHVl')
  })
})

describe('ExecCommandRunner: failures and retries', () => {
  it('returns a failed result when allowFailure, without retrying', async () => {
    configure({
      exitCode: 1,
      stdout: '',
      stderr: 'Error from server (NotFound): secrets "x" not found\n'
    })
    const h = harness()
    const res = await h.runner.run(kubectl(['get', 'secret', 'x'], { allowFailure: true }))
    expect(res.exitCode).toBe(1)
    expect(res.stderr).toContain('(NotFound)')
    expect(invocations()).toBe(1)
  })

  it('retries transient errors with the backoff schedule, then succeeds', async () => {
    configure({ failTimes: 2, failStderr: REFUSED })
    const h = harness()
    const res = await h.runner.run(kubectl(['get', 'pods']))
    expect(res.exitCode).toBe(0)
    expect(invocations()).toBe(3)
    // Every attempt ran the very same argv.
    expect(recorded()).toEqual(
      Array(3).fill({ tool: 'kubectl', argv: ['get', 'pods'], stdin: '', kubeconfig: null })
    )
    expect(h.sleeps).toEqual([1000, 2000])
    expect(h.logs).toEqual(Array(3).fill('[command] kubectl get pods'))
    expect(h.warnings).toEqual([
      'transient error, retrying in 1s (attempt 2, up to 120s more): ' + REFUSED.trim(),
      'transient error, retrying in 2s (attempt 3, up to 119s more): ' + REFUSED.trim()
    ])
    expect(h.interruptions).toEqual([
      {
        command: 'kubectl get pods',
        error: REFUSED.trim(),
        retries: 2,
        outageMs: 3000,
        recovered: true
      }
    ])
  })

  it('keeps retrying through an outage as long as the outage tolerance, then reports the last stderr', async () => {
    configure({ failTimes: 99, failStderr: 'W0101 warning line\n' + REFUSED })
    // 1 + 2 + 4 + 8 s of backoff fit in 20 s; the next 10 s (and a last attempt's second) do not.
    const h = harness({ outageToleranceMs: 20_000, maxAttempts: 2 })
    const err = await failure(h.runner.run(kubectl(['get', 'pods'])))
    expect(invocations()).toBe(5)
    expect(h.sleeps).toEqual([1000, 2000, 4000, 8000])
    expect(err.timedOut).toBe(false)
    expect(err.result?.exitCode).toBe(1)
    expect(err.message).toBe(
      'kubectl get pods failed with exit code 1 (after 5 attempts)\nW0101 warning line\n' +
        REFUSED.trim()
    )
    expect(h.interruptions).toEqual([
      {
        command: 'kubectl get pods',
        error: REFUSED.trim(),
        retries: 4,
        outageMs: 15_000,
        recovered: false
      }
    ])
  })

  it('retries no transient error past the run deadline', async () => {
    configure({ failTimes: 99, failStderr: REFUSED })
    const h = harness({ deadline: 4500 })
    await failure(h.runner.run(kubectl(['get', 'pods'])))
    expect(h.sleeps).toEqual([1000, 2000])
  })

  it('retries a wait (allowFailure) refused by a restarting API server, within its planned end', async () => {
    configure({ failTimes: 2, failStderr: REFUSED })
    const h = harness()
    const wait = kubectl(['wait', 'restores/r', '--for=condition=Ready=True', '--timeout=5s'], {
      allowFailure: true,
      timeoutMs: 35_000
    })
    const res = await h.runner.run(wait)
    expect(res.exitCode).toBe(0)
    expect(invocations()).toBe(3)
    expect(h.interruptions).toHaveLength(1)
    expect(h.interruptions[0]?.recovered).toBe(true)
  })

  it("returns kubectl wait's own timeout as the answer, even with connection errors logged before it", async () => {
    configure({
      exitCode: 1,
      stdout: '',
      stderr:
        'W1202 reflector.go:569] failed to list: Get "https://127.0.0.1:6443/apis": dial tcp 127.0.0.1:6443: connect: connection refused\n' +
        'error: timed out waiting for the condition on restores/r\n'
    })
    const h = harness()
    const wait = kubectl(['wait', 'restores/r', '--timeout=5s'], { allowFailure: true })
    const res = await h.runner.run(wait)
    expect(res.exitCode).toBe(1)
    expect(invocations()).toBe(1)
    expect(h.interruptions).toEqual([])
  })

  it('does not retry deterministic errors', async () => {
    configure({
      failTimes: 99,
      failExit: 1,
      failStderr:
        'Error from server (Forbidden): secrets is forbidden: User "ci" cannot list resource "secrets"\n'
    })
    const h = harness()
    const err = await failure(h.runner.run(kubectl(['get', 'secrets'])))
    expect(invocations()).toBe(1)
    expect(h.sleeps).toEqual([])
    expect(err.message).toMatch(
      /^kubectl get secrets failed with exit code 1\nError from server \(Forbidden\)/
    )
  })

  it("does not retry when retry is 'never'", async () => {
    configure({ failTimes: 99, failStderr: REFUSED })
    const h = harness()
    const err = await failure(
      h.runner.run({
        tool: 'helm',
        args: ['upgrade', 'rancher', 'rancher-stable/rancher'],
        timeoutMs: 10_000,
        mutating: true,
        retry: 'never'
      })
    )
    expect(invocations()).toBe(1)
    expect(err.message).toContain(
      'helm upgrade rancher rancher-stable/rancher failed with exit code 1'
    )
  })

  it('keeps only the last 10 non-empty stderr lines, and no stdout, in the message', async () => {
    const lines = Array.from({ length: 15 }, (_, i) => `line ${i + 1}`)
    configure({ exitCode: 2, stdout: 'STDOUT-SECRET', stderr: lines.join('\n\n') + '\n' })
    const h = harness()
    const err = await failure(h.runner.run(kubectl(['get', 'secret', 'x'], { secretOutput: true })))
    expect(err.message).toBe(
      ['kubectl get secret x failed with exit code 2', ...lines.slice(5)].join('\n')
    )
    expect(err.result?.stdout).toBe('')
    expect(err.result?.stderr).toContain('line 15')
    expect(JSON.stringify(err)).not.toContain('STDOUT-SECRET')
  })

  it('reports a missing binary as a CommandError', async () => {
    const h = harness({ kubectlPath: join(dir, 'does-not-exist') })
    const err = await failure(h.runner.run(kubectl(['version'])))
    expect(err.message).toMatch(/^kubectl version could not be started: .*ENOENT/)
    expect(err.result).toBeUndefined()
  })
})

describe('ExecCommandRunner: dry run', () => {
  it('refuses mutating commands without spawning', async () => {
    const h = harness({ dryRun: true })
    const err = await failure(h.runner.run(kubectl(['delete', 'pod', 'x'], { mutating: true })))
    expect(err.message).toContain('kubectl delete pod x')
    expect(err.result).toBeUndefined()
    expect(invocations()).toBe(0)
    expect(h.logs).toEqual([])
  })

  it('still runs read-only commands', async () => {
    const h = harness({ dryRun: true })
    const res = await h.runner.run(kubectl(['get', 'pods']))
    expect(res.exitCode).toBe(0)
    expect(invocations()).toBe(1)
  })
})

describe('ExecCommandRunner: timeouts', () => {
  it('kills a process that passes its deadline and reports timedOut', async () => {
    configure({ sleepMs: 60_000, announce: true })
    const h = harness()
    const started = Date.now()
    const err = await failure(
      h.runner.run(
        kubectl(['rollout', 'status', 'deploy/rancher', '-n', 'x'], {
          // long enough for the child to start and announce itself on a loaded machine
          timeoutMs: 1500,
          mutating: true
        })
      )
    )
    expect(Date.now() - started).toBeLessThan(8000)
    expect(err.timedOut).toBe(true)
    expect(err.message).toBe(
      'kubectl rollout status deploy/rancher -n x timed out after 1.5s\nstarted'
    )
    expect(invocations()).toBe(1)
  })

  it('retries a timed-out read-only command when retry is transient', async () => {
    configure({ sleepMs: 60_000 })
    const h = harness({ maxAttempts: 2 })
    // each attempt lives long enough for the child to record itself on a loaded machine
    const err = await failure(
      h.runner.run(kubectl(['get', 'pods', '-n', 'x'], { timeoutMs: 1000 }))
    )
    expect(err.timedOut).toBe(true)
    expect(err.message).toBe('kubectl get pods -n x timed out after 1s (after 2 attempts)')
    expect(invocations()).toBe(2)
    expect(h.sleeps).toEqual([1000])
    expect(h.warnings[0]).toBe(
      'timeout, retrying in 1s (attempt 2, up to 120s more): timed out after 1s'
    )
  })

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    configure({ sleepMs: 60_000, ignoreTerm: true })
    const h = harness({ killGraceMs: 200 })
    const started = Date.now()
    const err = await failure(
      h.runner.run(kubectl(['get', 'pods'], { timeoutMs: 300, retry: 'never' }))
    )
    expect(err.timedOut).toBe(true)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(err.result?.exitCode).toBe(137)
  })
})

describe('ExecCommandRunner: cancellation', () => {
  const cancellable = () => {
    const c = new Cancellation(60_000)
    return { c, h: harness({ cancellation: c }) }
  }
  const cancelled = async (p: Promise<unknown>): Promise<CancelledError> => {
    try {
      await p
    } catch (err) {
      expect(err).toBeInstanceOf(CancelledError)
      return err as CancelledError
    }
    throw new Error('expected the command to be cancelled')
  }

  it('starts nothing once cancelled, except what may run during a cancel', async () => {
    const c = new Cancellation(60_000)
    const runner = cancellableRunner(harness().runner, c.signal)
    c.cancel('SIGINT')
    const err = await cancelled(runner.run(kubectl(['get', 'pods'])))
    expect(err.message).toBe('kubectl get pods was not started: the run was cancelled')
    expect(invocations()).toBe(0)
    await runner.run(kubectl(['delete', 'lease', 'x'], { mutating: true, duringCancel: true }))
    expect(invocations()).toBe(1)
  })

  it('stops a running wait at the first signal, without retrying it', async () => {
    configure({ sleepMs: 60_000, announce: true })
    const { c, h } = cancellable()
    const started = Date.now()
    const run = h.runner.run(
      kubectl(['wait', 'restore/r'], { timeoutMs: 30_000, allowFailure: true })
    )
    setTimeout(() => c.cancel('SIGINT'), 300)
    const err = await cancelled(run)
    expect(err.message).toMatch(
      /^kubectl wait restore\/r was stopped after \d+(\.\d)?s: the run was cancelled$/
    )
    expect(Date.now() - started).toBeLessThan(5000)
    expect(invocations()).toBe(1)
  })

  it('lets a mutating Helm command finish after the first signal; stops it when urgent', async () => {
    configure({ sleepMs: 1500 })
    const { c, h } = cancellable()
    const helm = (): Command => ({
      tool: 'helm',
      args: ['rollback', 'rancher', '1'],
      timeoutMs: 30_000,
      mutating: true,
      retry: 'never'
    })
    const finished = h.runner.run(helm())
    setTimeout(() => c.cancel('SIGINT'), 200)
    expect((await finished).exitCode).toBe(0)

    configure({ sleepMs: 60_000 })
    const c2 = new Cancellation(60_000)
    const h2 = harness({ cancellation: c2 })
    const started = Date.now()
    const stopped = h2.runner.run(helm())
    setTimeout(() => c2.cancel('SIGINT'), 200)
    setTimeout(() => c2.cancel('SIGTERM'), 600)
    const err = await cancelled(stopped)
    expect(err.message).toMatch(/^helm rollback rancher 1 was stopped after/)
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
