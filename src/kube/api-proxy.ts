/**
 * The run's one connection to the API server for reads and small writes: a `kubectl proxy` on a
 * unix socket in the run's private directory (mode 0700, so no other user can connect).
 *
 * Why kubectl proxy rather than a client library such as @kubernetes/client-node: kubectl then
 * authenticates these requests exactly as it does the kubectl commands of the same run (client
 * certificates, tokens, exec plugins such as `aws eks get-token`, OIDC, `proxy-url`,
 * `tls-server-name`), with no second reading of the kubeconfig to drift from it and no credential
 * in this process; and it costs one process for the whole run instead of one process, one TLS
 * handshake and (cold) one API discovery per read. See the README's "Benchmark".
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { Agent, request } from 'node:http'

export interface ApiRequest {
  method: string
  /** Path and query, e.g. `/api/v1/namespaces/kube-system`. */
  path: string
  body?: string
  contentType?: string
  accept?: string
  timeoutMs: number
  signal?: AbortSignal
}

export interface ApiResponse {
  status: number
  body: string
}

/** Where `tool: 'api'` commands go; kubectl proxy in a run, a scripted fake in unit tests. */
export interface ApiTransport {
  request(r: ApiRequest): Promise<ApiResponse>
  close(): Promise<void>
}

/** A request that ran out of time (`timedOut`) or was stopped (`aborted`), as opposed to a refusal. */
export class ApiRequestError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
    readonly aborted = false
  ) {
    super(message)
    this.name = 'ApiRequestError'
  }
}

export interface KubectlProxyOptions {
  kubectlPath: string
  /** Global kubectl flags put before `proxy` (`--context <c>`). */
  globalArgs: string[]
  /** The environment kubectl starts with (KUBECONFIG). */
  env: () => NodeJS.ProcessEnv
  socketPath: string
  /** How long kubectl may take to say it serves. Default 30 000. */
  startTimeoutMs?: number
}

/** kubectl proxy's line once it listens (staging/src/k8s.io/kubectl/pkg/cmd/proxy/proxy.go). */
const SERVING = 'Starting to serve on'
/** Enough of the proxy's stderr to explain why it stopped. */
const STDERR_KEEP = 4096

export class KubectlProxy implements ApiTransport {
  private child: ChildProcess | undefined
  private serving: Promise<void> | undefined
  private readonly agent = new Agent({ keepAlive: true })

  constructor(private readonly opts: KubectlProxyOptions) {}

  /** The proxy's argv, as the plan names it. */
  argv(): string[] {
    return [...this.opts.globalArgs, 'proxy', `--unix-socket=${this.opts.socketPath}`]
  }

  /** Starts kubectl proxy once, and again after it died; resolves once it serves. */
  private start(): Promise<void> {
    if (this.serving) return this.serving
    // A proxy that died leaves its socket file behind, and a new one cannot listen over it.
    rmSync(this.opts.socketPath, { force: true })
    const child = spawn(this.opts.kubectlPath, this.argv(), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.opts.env(),
      shell: false
    })
    this.child = child
    let stderr = ''
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + String(b)).slice(-STDERR_KEEP)
    })
    const serving = new Promise<void>((resolve, reject) => {
      let stdout = ''
      const ms = this.opts.startTimeoutMs ?? 30_000
      const timer = setTimeout(() => {
        reject(new ApiRequestError(`kubectl proxy did not start serving within ${ms}ms`, true))
        child.kill('SIGKILL')
      }, ms)
      child.stdout?.on('data', (b: Buffer) => {
        stdout += String(b)
        if (stdout.includes(SERVING)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.on('error', e => {
        clearTimeout(timer)
        reject(new ApiRequestError(`kubectl proxy could not be started: ${e.message}`))
      })
      child.on('exit', (code, signal) => {
        clearTimeout(timer)
        if (this.child === child) {
          this.child = undefined
          this.serving = undefined
        }
        const why = stderr.trim().split('\n').slice(-3).join(' ')
        reject(
          new ApiRequestError(`kubectl proxy exited (${signal ?? code})${why ? `: ${why}` : ''}`)
        )
      })
    })
    this.serving = serving
    // A start that failed is tried again by the next request.
    serving.catch(() => {
      if (this.serving === serving) this.serving = undefined
    })
    return serving
  }

  async request(r: ApiRequest): Promise<ApiResponse> {
    await this.start()
    return new Promise<ApiResponse>((resolve, reject) => {
      const headers: Record<string, string> = {
        host: 'localhost',
        accept: r.accept ?? 'application/json'
      }
      if (r.body !== undefined) {
        headers['content-type'] = r.contentType ?? 'application/json'
        headers['content-length'] = String(Buffer.byteLength(r.body))
      }
      let done = false
      const settle = (f: () => void): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        r.signal?.removeEventListener('abort', onAbort)
        f()
      }
      const req = request({
        socketPath: this.opts.socketPath,
        path: r.path,
        method: r.method,
        headers,
        agent: this.agent
      })
      const timer = setTimeout(() => {
        settle(() => reject(new ApiRequestError(`no answer within ${r.timeoutMs}ms`, true)))
        req.destroy()
      }, r.timeoutMs)
      const onAbort = (): void => {
        settle(() => reject(new ApiRequestError('stopped: the run was cancelled', false, true)))
        req.destroy()
      }
      if (r.signal?.aborted) queueMicrotask(onAbort)
      else r.signal?.addEventListener('abort', onAbort, { once: true })
      req.on('response', res => {
        const chunks: Buffer[] = []
        res.on('data', (b: Buffer) => chunks.push(b))
        res.on('end', () =>
          settle(() =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
          )
        )
        res.on('error', e => settle(() => reject(new ApiRequestError(e.message))))
      })
      req.on('error', e => settle(() => reject(new ApiRequestError(e.message))))
      req.end(r.body)
    })
  }

  /** Stops the proxy; resolves once it has exited (at most ~2 s). */
  async close(): Promise<void> {
    this.agent.destroy()
    const child = this.child
    this.child = undefined
    this.serving = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>(resolve => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000)
      child.once('exit', () => {
        clearTimeout(kill)
        resolve()
      })
      child.kill('SIGTERM')
    })
  }
}
