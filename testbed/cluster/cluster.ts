/**
 * A real Kubernetes 1.20 control plane on 127.0.0.1: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler (binaries from prepare.ts) and the fake kubelet, all
 * on free loopback ports, each component in its own directory under the cluster's temp dir.
 *
 *   const cluster = await startCluster()
 *   // kubectl --kubeconfig cluster.kubeconfigPath get ns
 *   await cluster.stop()
 *
 * Processes run in their own process groups; stop() ends only those. If this process dies
 * without stop(), an exit handler and a small watchdog process end them and remove the dirs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPair, randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FakeKubelet } from './fake-kubelet.js'
import { KubeApi, kpath, type KubeObject } from './kube-api.js'
import { paths } from '../paths.js'
import { freePorts } from './ports.js'

export interface StartClusterOptions {
  /** Parent of the cluster directory (default: the OS temp dir). */
  baseDir?: string
  /** Node name (default `testbed-node`). */
  nodeName?: string
  /** Extra flags per component. */
  extraArgs?: {
    etcd?: string[]
    apiserver?: string[]
    controllerManager?: string[]
    scheduler?: string[]
  }
  /** Restart backoff of crashed containers in the fake kubelet (ms, default 1000). */
  restartBackoffMs?: number
  /** Progress and diagnostics (default: none). */
  log?: (line: string) => void
  /** Give up waiting for readiness after this long (default 90 s). */
  startTimeoutMs?: number
}

/**
 * The testbed's one TLS identity: the API server's self-signed serving certificate (it makes one
 * for 127.0.0.1 in its `--cert-dir`, with a CA of its own), which the fake kubelet and S3 serve
 * too, so every client of the testbed trusts one private CA.
 */
export interface ServingTls {
  /** PEM private key. */
  key: string
  /** PEM chain: the serving certificate, then its CA. */
  cert: string
  /** PEM of that CA alone: what clients are given to trust. */
  ca: string
}

export interface Cluster {
  /** A kubeconfig file (token auth, the API server's CA) for kubectl and helm. */
  kubeconfigPath: string
  /** `https://127.0.0.1:<port>` */
  server: string
  /** Bearer token of a `system:masters` user. */
  token: string
  /** PEM CA of the API server's serving certificate. */
  ca: string
  /** The API server's serving key, certificate and CA, for other loopback servers to reuse. */
  tls: ServingTls
  /** A client for the cluster (admin). */
  api: KubeApi
  kubelet: FakeKubelet
  /** The cluster's temp dir (kubeconfig, per-component dirs, `logs/`). */
  dir: string
  /** Where each component logs: `<dir>/logs/<component>.log`. */
  logsDir: string
  /** Environment for child processes: `KUBECONFIG` set to kubeconfigPath. */
  env: NodeJS.ProcessEnv
  /** Milliseconds start-up took. */
  startupMs: number
  /** The processes this cluster started (name, pid), in start order. */
  processes: { name: string; pid: number }[]
  /**
   * Stops kube-apiserver (SIGTERM, then SIGKILL after `graceMs`: a 1.20 API server drains open
   * watches for up to a minute before it exits), keeps it down for `downMs`, then starts it again
   * on the same port, etcd and serving certificate and waits for /readyz: every client's
   * connections and watches break, and the cluster's state is unchanged.
   */
  restartApiServer(opts?: { downMs?: number; graceMs?: number }): Promise<ApiServerRestart>
  /** Stop every process this cluster started and remove its dirs (idempotent). */
  stop(): Promise<void>
}

export interface ApiServerRestart {
  /** When the old process was signalled and when the new one answered /readyz (epoch ms). */
  stoppedAt: number
  readyAt: number
}

interface Proc {
  name: string
  child: ChildProcess
  exited: Promise<number | null>
  logFile: string
  exitCode: number | null | undefined
}

const live = new Set<{ procs: Proc[]; dirs: string[] }>()
let exitHandlerInstalled = false

function installExitHandler(): void {
  if (exitHandlerInstalled) return
  exitHandlerInstalled = true
  process.on('exit', () => {
    for (const c of live) {
      for (const p of c.procs) killGroup(p, 'SIGKILL')
      for (const d of c.dirs) rmSync(d, { recursive: true, force: true })
    }
  })
}

function killGroup(p: Proc, signal: NodeJS.Signals): void {
  if (p.exitCode !== undefined || p.child.pid === undefined) return
  try {
    process.kill(-p.child.pid, signal)
  } catch {
    /* already gone */
  }
}

async function tail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.split('\n').slice(-lines).join('\n')
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

class StartError extends Error {
  override name = 'ClusterStartError'
  constructor(
    message: string,
    readonly addressInUse: boolean
  ) {
    super(message)
  }
}

/** Start a cluster; retried once when a picked port was taken meanwhile. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  try {
    return await startOnce(opts)
  } catch (e) {
    if (e instanceof StartError && e.addressInUse) return startOnce(opts)
    throw e
  }
}

async function startOnce(opts: StartClusterOptions): Promise<Cluster> {
  const t0 = Date.now()
  const say = (m: string) => opts.log?.(`[testbed cluster +${Date.now() - t0}ms] ${m}`)
  for (const bin of [
    paths.etcd,
    paths.kubeApiserver,
    paths.kubeControllerManager,
    paths.kubeScheduler
  ]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: run \`npx tsx testbed/prepare.ts\` first`)
    }
  }
  installExitHandler()
  const dir = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'testbed-cluster-'))
  // etcd's data on tmpfs when there is one: fsync-heavy, and nothing needs to survive.
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/testbed-etcd-') : undefined
  const logsDir = join(dir, 'logs')
  const procs: Proc[] = []
  const entry = { procs, dirs: [dir, ...(shm ? [shm] : [])] }
  live.add(entry)
  const pidsFile = join(dir, 'pgids')
  const watchdog = spawnWatchdog(pidsFile, entry.dirs)
  let api: KubeApi | undefined
  let kubelet: FakeKubelet | undefined
  let stopped: Promise<void> | undefined

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await kubelet?.stop().catch(() => undefined)
      api?.close()
      // Reverse start order: scheduler, controller-manager, apiserver, etcd.
      for (const p of [...procs].reverse()) {
        killGroup(p, 'SIGTERM')
        const code = await Promise.race([p.exited, sleep(10_000).then(() => 'timeout' as const)])
        if (code === 'timeout') {
          killGroup(p, 'SIGKILL')
          await p.exited
        }
      }
      try {
        if (watchdog.pid) process.kill(watchdog.pid, 'SIGKILL')
      } catch {
        /* gone */
      }
      for (const d of entry.dirs) await rm(d, { recursive: true, force: true })
      live.delete(entry)
    })()
    return stopped
  }

  const launch = async (name: string, bin: string, args: string[]): Promise<Proc> => {
    const logFile = join(logsDir, `${name}.log`)
    const fd = openSync(logFile, 'a')
    const child = spawn(bin, args, {
      cwd: join(dir, name),
      detached: true,
      stdio: ['ignore', fd, fd]
    })
    closeSync(fd)
    const p: Proc = { name, child, logFile, exitCode: undefined, exited: Promise.resolve(null) }
    p.exited = new Promise(resolve => {
      child.on('exit', code => {
        p.exitCode = code
        resolve(code)
      })
      child.on('error', () => {
        p.exitCode = -1
        resolve(-1)
      })
    })
    procs.push(p)
    await writeFile(pidsFile, procs.map(x => x.child.pid).join('\n') + '\n')
    say(`${name} started (pid ${child.pid})`)
    return p
  }

  const deadline = t0 + (opts.startTimeoutMs ?? 90_000)
  /** Poll until check() is true; fail with the log tail if p exits or time runs out. */
  const waitFor = async (
    what: string,
    p: Proc | undefined,
    check: () => Promise<boolean>,
    until = deadline
  ) => {
    for (;;) {
      if (p && p.exitCode !== undefined) {
        const t = await tail(p.logFile)
        throw new StartError(
          `${p.name} exited (${p.exitCode}) while waiting for ${what}; ${p.logFile}:\n${t}`,
          /address already in use/.test(t)
        )
      }
      if (await check().catch(() => false)) return
      if (Date.now() > until) {
        const t = p ? `; ${p.logFile}:\n${await tail(p.logFile)}` : ''
        throw new StartError(`timed out waiting for ${what}${t}`, false)
      }
      await sleep(100)
    }
  }

  try {
    for (const d of [
      'logs',
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler'
    ]) {
      await mkdir(join(dir, d), { recursive: true })
    }
    const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number]
    const token = randomBytes(24).toString('hex')
    const server = `https://127.0.0.1:${apiPort}`
    const pki = join(dir, 'kube-apiserver')
    await writeFile(
      join(pki, 'tokens.csv'),
      `${token},testbed-admin,testbed-admin,"system:masters"\n`
    )
    // The service-account signing key, generated while etcd starts.
    const saKey = join(pki, 'sa.key')
    const saPub = join(pki, 'sa.pub')
    const saKeys = generateRsaKey().then(async k => {
      await writeFile(saKey, k.privateKey)
      await writeFile(saPub, k.publicKey)
    })

    // etcd
    const etcdUrl = `http://127.0.0.1:${etcdPort}`
    const peerUrl = `http://127.0.0.1:${peerPort}`
    const etcd = await launch('etcd', paths.etcd, [
      '--name=testbed',
      `--data-dir=${shm ?? join(dir, 'etcd', 'data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=testbed=${peerUrl}`,
      '--initial-cluster-state=new',
      '--log-level=warn',
      '--logger=zap',
      ...(opts.extraArgs?.etcd ?? [])
    ])
    await waitFor('etcd /health', etcd, () => httpGetOk(`${etcdUrl}/health`))
    say('etcd healthy')

    // kube-apiserver
    await saKeys
    const certDir = join(pki, 'certs')
    const issuer = 'https://kubernetes.default.svc.cluster.local'
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      '--insecure-port=0',
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(pki, 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC',
      '--service-cluster-ip-range=10.43.0.0/16',
      `--service-account-issuer=${issuer}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--api-audiences=${issuer}`,
      '--endpoint-reconciler-type=none',
      '--kubelet-preferred-address-types=InternalIP',
      '--allow-privileged=true',
      '--profiling=false',
      ...(opts.extraArgs?.apiserver ?? [])
    ]
    const apiserverReady = async (p: Proc, until: number): Promise<void> => {
      const insecureApi = new KubeApi({ server, token, insecure: true })
      try {
        await waitFor(
          'kube-apiserver /readyz',
          p,
          async () => (await insecureApi.getText('/readyz')).trim() === 'ok',
          until
        )
      } finally {
        insecureApi.close()
      }
    }
    const apiserver = await launch('kube-apiserver', paths.kubeApiserver, apiserverArgs)
    await apiserverReady(apiserver, deadline)
    say('kube-apiserver ready')
    const servingPem = await readFile(join(certDir, 'apiserver.crt'), 'utf8')
    const servingKey = await readFile(join(certDir, 'apiserver.key'), 'utf8')
    const blocks = servingPem.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g
    )
    const ca = (blocks?.[blocks.length - 1] ?? '').trim() + '\n'
    const tls: ServingTls = { key: servingKey, cert: servingPem, ca }
    await writeFile(join(pki, 'ca.crt'), ca)
    api = new KubeApi({ server, token, ca })
    await api.request('GET', '/version') // proves the CA verifies the serving cert

    const kubeconfigPath = join(dir, 'kubeconfig')
    await writeFile(kubeconfigPath, kubeconfig(server, token, ca), { mode: 0o600 })

    // controller-manager and scheduler
    await launch('kube-controller-manager', paths.kubeControllerManager, [
      `--kubeconfig=${kubeconfigPath}`,
      '--controllers=*,-nodelifecycle,-csrsigning',
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      '--port=0',
      '--secure-port=0',
      ...(opts.extraArgs?.controllerManager ?? [])
    ])
    await launch('kube-scheduler', paths.kubeScheduler, [
      `--kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--port=0',
      '--secure-port=0',
      ...(opts.extraArgs?.scheduler ?? [])
    ])

    // the node
    kubelet = new FakeKubelet({
      api: new KubeApi({ server, token, ca }),
      nodeName: opts.nodeName,
      tls,
      restartBackoffMs: opts.restartBackoffMs,
      debug: opts.log
    })
    await kubelet.start()
    say(`node ${kubelet.nodeName} registered (kubelet port ${kubelet.port})`)

    // Pods can be admitted once the default ServiceAccount and its token exist.
    const c = api
    const cm = procs.find(p => p.name === 'kube-controller-manager')
    await waitFor('the default ServiceAccount token', cm, async () => {
      const sa = await c.tryGet<KubeObject & { secrets?: unknown[] }>(
        kpath('v1', 'serviceaccounts', 'default', 'default')
      )
      return (sa?.secrets?.length ?? 0) > 0
    })
    const sched = procs.find(p => p.name === 'kube-scheduler')
    if (sched?.exitCode !== undefined) {
      await waitFor('kube-scheduler', sched, async () => false)
    }
    const startupMs = Date.now() - t0
    say(`cluster ready in ${startupMs} ms (${dir})`)
    const restartApiServer = async ({
      downMs = 0,
      graceMs = 2000
    } = {}): Promise<ApiServerRestart> => {
      const old = procs.find(p => p.name === 'kube-apiserver' && p.exitCode === undefined)
      if (old === undefined) throw new Error('kube-apiserver is not running')
      const stoppedAt = Date.now()
      killGroup(old, 'SIGTERM')
      const code = await Promise.race([old.exited, sleep(graceMs).then(() => 'grace' as const)])
      if (code === 'grace') {
        killGroup(old, 'SIGKILL')
        await old.exited
      }
      procs.splice(procs.indexOf(old), 1)
      await sleep(downMs)
      // Back in its old place, so stop() still ends it before etcd.
      const fresh = await launch('kube-apiserver', paths.kubeApiserver, apiserverArgs)
      procs.splice(procs.indexOf(fresh), 1)
      procs.splice(1, 0, fresh)
      await writeFile(pidsFile, procs.map(x => x.child.pid).join('\n') + '\n')
      await apiserverReady(fresh, Date.now() + (opts.startTimeoutMs ?? 90_000))
      const readyAt = Date.now()
      say(`kube-apiserver restarted: down ${readyAt - stoppedAt} ms`)
      return { stoppedAt, readyAt }
    }
    return {
      kubeconfigPath,
      server,
      token,
      ca,
      tls,
      api,
      kubelet,
      dir,
      logsDir,
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      startupMs,
      processes: procs.map(p => ({ name: p.name, pid: p.child.pid ?? 0 })),
      restartApiServer,
      stop
    }
  } catch (e) {
    await stop()
    throw e
  }
}

function generateRsaKey(): Promise<{ privateKey: string; publicKey: string }> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' }
      },
      (err, publicKey, privateKey) => (err ? reject(err) : resolve({ privateKey, publicKey }))
    )
  })
}

function kubeconfig(server: string, token: string, ca: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: testbed',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority-data: ${Buffer.from(ca).toString('base64')}`,
    'users:',
    '  - name: testbed-admin',
    '    user:',
    `      token: ${token}`,
    'contexts:',
    '  - name: testbed',
    '    context:',
    '      cluster: testbed',
    '      user: testbed-admin',
    '      namespace: default',
    'current-context: testbed',
    ''
  ].join('\n')
}

function httpGetOk(url: string): Promise<boolean> {
  return new Promise(resolve => {
    const req = httpRequest(url, { timeout: 2000 }, res => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => {
      req.destroy()
      resolve(false)
    })
    req.end()
  })
}

/**
 * A detached bash (dash's kill cannot signal a process group) that waits for this process to die, then SIGKILLs the process groups listed
 * in pidsFile and removes the dirs: covers a test worker killed with SIGKILL.
 */
function spawnWatchdog(pidsFile: string, dirs: string[]): ChildProcess {
  const script = [
    'parent=$1; pids=$2; shift 2',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'if [ -f "$pids" ]; then for p in $(cat "$pids"); do kill -KILL -- "-$p" 2>/dev/null; done; fi',
    'rm -rf "$@"'
  ].join('\n')
  const child = spawn(
    'bash',
    ['-c', script, 'testbed-watchdog', String(process.pid), pidsFile, ...dirs],
    {
      detached: true,
      stdio: 'ignore'
    }
  )
  child.unref()
  return child
}
