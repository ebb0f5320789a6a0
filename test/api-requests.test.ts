/**
 * `tool: 'api'` commands: how the runner answers them (exit code, stdout, stderr as kubectl would),
 * retries, deadlines, the dry-run guard and cancellation; and KubectlProxy's life cycle against a
 * stand-in `kubectl` that serves HTTP on the unix socket it is given, as `kubectl proxy` does.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ApiRequestError,
  KubectlProxy,
  type ApiRequest,
  type ApiTransport
} from '../src/kube/api-proxy.js'
import { apiErrorText } from '../src/kube/api-status.js'
import { CommandError } from '../src/kube/command-runner.js'
import * as cmd from '../src/kube/commands.js'
import { ExecCommandRunner, type Interruption } from '../src/kube/exec-command-runner.js'
import { Cancellation, CancelledError } from '../src/run/cancellation.js'

type Answer = { status: number; body: string } | Error

/** Answers requests in turn (the last one repeats) and records them. */
function scripted(...answers: Answer[]): ApiTransport & { requests: ApiRequest[]; closed: number } {
  const requests: ApiRequest[] = []
  let closed = 0
  return {
    requests,
    get closed() {
      return closed
    },
    async request(r) {
      requests.push(r)
      const a = answers[Math.min(requests.length - 1, answers.length - 1)]!
      if (a instanceof Error) throw a
      return a
    },
    async close() {
      closed++
    }
  }
}

const status = (code: number, reason: string, message: string) => ({
  status: code,
  body: JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message,
    reason,
    code
  })
})

function runner(
  transport: ApiTransport,
  more: Partial<ConstructorParameters<typeof ExecCommandRunner>[0]> = {}
) {
  const interruptions: Interruption[] = []
  const r = new ExecCommandRunner({
    kubectlPath: '/nonexistent/kubectl',
    helmPath: '/nonexistent/helm',
    apiTransport: transport,
    log: () => undefined,
    debug: () => undefined,
    warn: () => undefined,
    sleep: async () => undefined,
    onInterruption: i => interruptions.push(i),
    ...more
  })
  return { r, interruptions }
}

describe('an API request, answered as kubectl would answer', () => {
  it('2xx: exit 0 with the body; the request is the planned method, path and body', async () => {
    const t = scripted({ status: 201, body: '{"kind":"Lease"}' })
    const { r } = runner(t)
    const c = {
      ...cmd.createLease('Lease kube-system/rancher-rollback'),
      stdin: '{"kind":"Lease"}'
    }
    const result = await r.run(c)
    expect(result).toMatchObject({ exitCode: 0, stdout: '{"kind":"Lease"}', stderr: '' })
    expect(t.requests[0]).toMatchObject({
      method: 'POST',
      path: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?timeout=30s',
      body: '{"kind":"Lease"}',
      contentType: 'application/json',
      timeoutMs: 30_000
    })
  })

  it('404 is an empty answer where the command says so (--ignore-not-found), an error otherwise', async () => {
    const missing = status(404, 'NotFound', 'deployments.apps "rancher" not found')
    const { r } = runner(scripted(missing))
    expect(await r.run(cmd.getDeployment('cattle-system', 'rancher'))).toMatchObject({
      exitCode: 0,
      stdout: ''
    })
    const err = await r.run(cmd.getRestore('r-1')).catch(e => e)
    expect(err).toBeInstanceOf(CommandError)
    expect(err.message).toContain(
      'Error from server (NotFound): deployments.apps "rancher" not found'
    )
  })

  it("asks for metadata only when planned so: a Secret's data never leaves the API server", async () => {
    const t = scripted({ status: 200, body: '{"kind":"PartialObjectMetadata"}' })
    await runner(t).r.run(cmd.secretExists('default', 's3-creds'))
    expect(t.requests[0]!.accept).toMatch(
      /^application\/json;as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1/
    )
  })

  it("AlreadyExists and Conflict read as kubectl's, so the lock step judges them the same", async () => {
    const { r } = runner(
      scripted(
        status(409, 'AlreadyExists', 'leases.coordination.k8s.io "rancher-rollback" already exists')
      )
    )
    const err = await r.run({ ...cmd.createLease('x'), stdin: '{}' }).catch(e => e)
    expect(err.result.stderr).toBe(
      'Error from server (AlreadyExists): leases.coordination.k8s.io "rancher-rollback" already exists'
    )
  })

  it('retries a transient refusal (the proxy cannot reach the API server) and reports the outage', async () => {
    const refused = { status: 500, body: 'dial tcp 127.0.0.1:6443: connect: connection refused\n' }
    const t = scripted(refused, refused, { status: 200, body: '{}' })
    const { r, interruptions } = runner(t)
    expect((await r.run(cmd.getLease())).exitCode).toBe(0)
    expect(t.requests).toHaveLength(3)
    expect(interruptions).toEqual([
      expect.objectContaining({
        command:
          'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/rancher-rollback?timeout=30s',
        retries: 2,
        recovered: true,
        error: 'Error from server (500): dial tcp 127.0.0.1:6443: connect: connection refused'
      })
    ])
  })

  it('retries a dropped connection to the proxy (it is started again), never a deterministic refusal', async () => {
    const t = scripted(new ApiRequestError('socket hang up'), { status: 200, body: '{}' })
    expect((await runner(t).r.run(cmd.getLease())).exitCode).toBe(0)
    expect(t.requests).toHaveLength(2)
    const forbidden = scripted(
      status(403, 'Forbidden', 'leases is forbidden: User "ci" cannot get')
    )
    await expect(runner(forbidden).r.run(cmd.getLease())).rejects.toThrow(/Forbidden/)
    expect(forbidden.requests).toHaveLength(1)
  })

  it('a renewal is not retried: the next one is due soon', async () => {
    const t = scripted({ status: 503, body: '' })
    await expect(runner(t).r.run({ ...cmd.renewLease('x'), stdin: '{}' })).rejects.toThrow(
      /exit code 1/
    )
    expect(t.requests).toHaveLength(1)
  })

  it('a request that ran out of time is a timeout, retried for a read only', async () => {
    const late = new ApiRequestError('no answer within 30000ms', true)
    const read = scripted(late, { status: 200, body: '{}' })
    expect((await runner(read).r.run(cmd.getLease())).exitCode).toBe(0)
    const write = scripted(late)
    const err = await runner(write)
      .r.run({ ...cmd.createRestore('r', '{}') })
      .catch(e => e)
    expect(err).toMatchObject({ timedOut: true })
    expect(write.requests).toHaveLength(1)
  })

  it('a dry run refuses a mutating request before anything is sent', async () => {
    const t = scripted({ status: 201, body: '{}' })
    await expect(
      runner(t, { dryRun: true }).r.run({ ...cmd.createLease('x'), stdin: '{}' })
    ).rejects.toThrow(/dry run: refusing to run mutating command POST \/apis\/coordination/)
    expect(t.requests).toEqual([])
  })

  it('a read is stopped when the run is cancelled; a write only when it is urgent', async () => {
    const cancellation = new Cancellation()
    const seen: (AbortSignal | undefined)[] = []
    const t: ApiTransport = {
      async request(r) {
        seen.push(r.signal)
        throw new ApiRequestError('stopped: the run was cancelled', false, true)
      },
      close: async () => undefined
    }
    const { r } = runner(t, { cancellation })
    await expect(r.run(cmd.getLease())).rejects.toBeInstanceOf(CancelledError)
    await expect(r.run({ ...cmd.createLease('x'), stdin: '{}' })).rejects.toBeInstanceOf(
      CancelledError
    )
    expect(seen[0]).toBe(cancellation.signal)
    expect(seen[1]).toBe(cancellation.urgent)
  })

  it('close() ends the transport', async () => {
    const t = scripted({ status: 200, body: '{}' })
    await runner(t).r.close()
    expect(t.closed).toBe(1)
  })
})

describe('apiErrorText', () => {
  it.each([
    [404, status(404, 'NotFound', 'x not found').body, 'Error from server (NotFound): x not found'],
    [500, 'proxy error: EOF\n', 'Error from server (500): proxy error: EOF'],
    [503, '', 'Error from server (503)'],
    [
      429,
      status(429, 'TooManyRequests', 'slow down').body,
      'Error from server (TooManyRequests): slow down'
    ]
  ])('%i %j → %s', (code, body, text) => {
    expect(apiErrorText(code, body)).toBe(text)
  })
})

/**
 * A stand-in `kubectl`: for `proxy --unix-socket=P` it serves on P as kubectl proxy does (after
 * printing its "Starting to serve on" line), answering every request with the method and path;
 * `/die` ends it as a crash would.
 */
const FAKE_KUBECTL = `#!/usr/bin/env node
const http = require('node:http')
const arg = process.argv.find(a => a.startsWith('--unix-socket='))
if (process.argv[2] !== 'proxy' && process.argv[4] !== 'proxy') process.exit(3)
if (process.env.FAKE_PROXY_FAIL) { process.stderr.write('error: no context exists with the name: "nope"\\n'); process.exit(1) }
const socket = arg.slice('--unix-socket='.length)
const server = http.createServer((req, res) => {
  if (req.url === '/die') process.exit(2)
  let body = ''
  req.on('data', d => (body += d))
  req.on('end', () => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, accept: req.headers.accept, body, pid: process.pid, argv: process.argv.slice(2) }))
  })
})
server.listen(socket, () => process.stdout.write('Starting to serve on ' + socket + '\\n'))
`

describe('KubectlProxy', () => {
  let dir: string
  let kubectl: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rr-proxy-test-'))
    kubectl = join(dir, 'kubectl')
    writeFileSync(kubectl, FAKE_KUBECTL)
    chmodSync(kubectl, 0o755)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const proxy = (name: string, env: NodeJS.ProcessEnv = {}) =>
    new KubectlProxy({
      kubectlPath: kubectl,
      globalArgs: ['--context', 'prod'],
      env: () => ({ ...process.env, ...env }),
      socketPath: join(dir, name)
    })

  it('starts once, serves every request over the socket, and is started again after it died', async () => {
    const p = proxy('a.sock')
    const ask = async (path: string) =>
      JSON.parse((await p.request({ method: 'GET', path, timeoutMs: 5000 })).body)
    const [one, two] = await Promise.all([ask('/version'), ask('/api')])
    expect(one.pid).toBe(two.pid) // one process for both
    expect(one).toMatchObject({
      method: 'GET',
      url: '/version',
      host: 'localhost',
      argv: ['--context', 'prod', 'proxy', `--unix-socket=${join(dir, 'a.sock')}`]
    })
    await p.request({ method: 'GET', path: '/die', timeoutMs: 5000 }).catch(() => undefined)
    await new Promise(resolve => setTimeout(resolve, 100)) // the exit event
    const three = await ask('/version')
    expect(three.pid).not.toBe(one.pid)
    await p.close()
  })

  it('says why when kubectl proxy cannot start, and does not hang', async () => {
    const p = proxy('b.sock', { FAKE_PROXY_FAIL: '1' })
    await expect(p.request({ method: 'GET', path: '/version', timeoutMs: 5000 })).rejects.toThrow(
      /kubectl proxy exited \(1\): error: no context exists with the name: "nope"/
    )
    await p.close()
  })

  it('puts the socket in a private directory of its own when the planned path is too long for one', async () => {
    const runner = new ExecCommandRunner({
      kubectlPath: kubectl,
      helmPath: '/nonexistent/helm',
      apiSocketPath: join(dir, 'x'.repeat(120), 'api.sock'),
      log: () => undefined,
      debug: () => undefined
    })
    const r = await runner.run(cmd.kubeServerVersion())
    const socketArg = JSON.parse(r.stdout).argv.find((a: string) => a.startsWith('--unix-socket='))
    const socket = socketArg.slice('--unix-socket='.length)
    expect(socket).toMatch(new RegExp(`^${tmpdir()}/rr-api-\\w+/api\\.sock$`))
    expect(statSync(dirname(socket)).mode & 0o777).toBe(0o700)
    await runner.close()
    expect(existsSync(dirname(socket))).toBe(false)
  })

  it('sends the body with its content type', async () => {
    const p = proxy('c.sock')
    const r = await p.request({
      method: 'PUT',
      path: '/x',
      body: '{"a":1}',
      contentType: 'application/json',
      timeoutMs: 5000
    })
    expect(JSON.parse(r.body)).toMatchObject({ method: 'PUT', body: '{"a":1}' })
    await p.close()
  })
})
