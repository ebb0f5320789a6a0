/**
 * The testbed's node: a fake kubelet. It registers one Node, makes the pods bound to it Running
 * and Ready, runs registered **behaviours** in place of containers, and serves container logs
 * over HTTPS so that `kubectl logs` works through the real API server.
 *
 * - Pods without a matching behaviour just become Running/Ready (and stay so).
 * - Job-like pods (`restartPolicy` Never/OnFailure) with a behaviour: the behaviour runs, then the
 *   pod ends Succeeded/Failed with the containers' terminated state and exit code. OnFailure
 *   restarts a failed run in place (restartCount grows, as the Job controller's backoffLimit
 *   expects).
 * - Long-running pods (`restartPolicy` Always, e.g. Deployments) with a behaviour: it runs in the
 *   background for the pod's lifetime while the pod is Running/Ready; if it returns, the
 *   container "crashes" (CrashLoopBackOff, restartCount + 1) and it is run again after a backoff.
 * - Terminating pods (deletionTimestamp set): the behaviour is aborted, then the pod is deleted
 *   with grace period 0.
 * - Pod IPs are allocated from 10.42.0.0/16 (loopback addresses are refused in Endpoints).
 */
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KubeApi, KubeApiError, kpath, type KubeObject } from './kube-api.js'

export interface Container {
  name: string
  image?: string
  [key: string]: unknown
}

export interface ContainerStatus {
  name: string
  image: string
  imageID: string
  containerID?: string
  ready: boolean
  started?: boolean
  restartCount: number
  state: Record<string, Record<string, unknown>>
  lastState: Record<string, Record<string, unknown>>
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string
    restartPolicy?: 'Always' | 'OnFailure' | 'Never'
    containers: Container[]
    initContainers?: Container[]
    hostNetwork?: boolean
    serviceAccountName?: string
    [key: string]: unknown
  }
  status?: {
    phase?: string
    podIP?: string
    containerStatuses?: ContainerStatus[]
    [key: string]: unknown
  }
}

/** How a behaviour run ended: a phase, or a phase with the container's exit code/reason. */
export type BehaviourOutcome =
  | 'Succeeded'
  | 'Failed'
  | { result: 'Succeeded' | 'Failed'; exitCode?: number; reason?: string; message?: string }

export interface BehaviourControl {
  /** Long-running pods: flip the containers' readiness (and the pod's Ready condition). */
  setReady(ready: boolean): Promise<void>
  /** 0 on the first run, then the container's restart count. */
  restartCount: number
}

/** What a container of a matching pod "does". */
export interface PodBehaviour {
  name: string
  matches(pod: Pod): boolean
  /**
   * Runs in place of the pod's containers. `log(line)` appends a line to the first container's
   * log (or to `container`'s). `signal` aborts when the pod is deleted or the kubelet stops.
   */
  run(
    pod: Pod,
    log: (line: string, container?: string) => void,
    signal: AbortSignal,
    ctl: BehaviourControl
  ): Promise<BehaviourOutcome>
  /** Long-running pods: start Ready (default true); false = not Ready until ctl.setReady(true). */
  initiallyReady?: boolean
}

export interface FakeKubeletOptions {
  api: KubeApi
  /** Default `testbed-node`. */
  nodeName?: string
  /** PEM key and certificate of the HTTPS log server (the API server does not verify them). */
  tls: { key: string; cert: string }
  /** Port of the HTTPS log server (default: a free one). */
  port?: number
  /** First restart backoff of crashed containers, doubled per restart up to 10x (default 1000). */
  restartBackoffMs?: number
  /** Diagnostics (default: none). */
  debug?: (line: string) => void
}

interface LogLine {
  time: Date
  text: string
}

interface ContainerLog {
  /** One array per container run; the last is the current one. */
  runs: LogLine[][]
  /** The current run has finished (follow requests end). */
  closed: boolean
  followers: Set<(line: LogLine | null) => void>
}

interface PodState {
  pod: Pod
  uid: string
  ip: string
  abort: AbortController
  done: Promise<void>
  terminating: boolean
  logs: Map<string, ContainerLog>
  writes: Promise<unknown>
  startedAt: string
  ready: boolean
  restartCount: number
  lastState: Record<string, Record<string, unknown>>
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** Waits `ms`, or less when `signal` aborts (not at all once it has): how behaviours wait. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

export class FakeKubelet {
  readonly nodeName: string
  private readonly api: KubeApi
  private readonly opts: FakeKubeletOptions
  private readonly behaviours: PodBehaviour[] = []
  private readonly pods = new Map<string, PodState>()
  private readonly byName = new Map<string, PodState>()
  private readonly stopper = new AbortController()
  private server: Server | undefined
  private loop: Promise<void> | undefined
  private nextIp = 2
  private portValue = 0

  constructor(opts: FakeKubeletOptions) {
    this.opts = opts
    this.api = opts.api
    this.nodeName = opts.nodeName ?? 'testbed-node'
  }

  /** The HTTPS log server's port (after start()). */
  get port(): number {
    return this.portValue
  }

  /**
   * Register a behaviour. The most recently registered matching behaviour wins. Returns a
   * function that unregisters it (running pods keep running it).
   */
  registerBehaviour(b: PodBehaviour): () => void {
    this.behaviours.unshift(b)
    return () => {
      const i = this.behaviours.indexOf(b)
      if (i >= 0) this.behaviours.splice(i, 1)
    }
  }

  /** The lines logged so far by a pod's container (current run; `previous` for the one before). */
  logsOf(namespace: string, pod: string, container?: string, previous = false): string[] {
    const st = this.byName.get(`${namespace}/${pod}`)
    if (!st) return []
    const name = container ?? st.pod.spec.containers[0]?.name ?? ''
    const runs = st.logs.get(name)?.runs ?? []
    return (runs[runs.length - (previous ? 2 : 1)] ?? []).map(l => l.text)
  }

  /** Start the log server, register the Node, and start handling pods. */
  async start(): Promise<void> {
    this.server = createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, (req, res) =>
      this.serve(req, res)
    )
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject)
      this.server?.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve())
    })
    this.portValue = (this.server.address() as AddressInfo).port
    await this.registerNode()
    this.loop = this.watchPods()
  }

  /** Abort every behaviour, stop watching, close the log server. Pods are left as they are. */
  async stop(): Promise<void> {
    this.stopper.abort()
    for (const st of this.pods.values()) st.abort.abort()
    await Promise.allSettled([...this.pods.values()].map(s => s.done))
    await this.loop?.catch(() => undefined)
    for (const st of this.pods.values()) for (const l of st.logs.values()) this.closeLog(l)
    await new Promise<void>(r => {
      if (!this.server) return r()
      this.server.close(() => r())
      this.server.closeAllConnections()
    })
  }

  private debug(line: string): void {
    this.opts.debug?.(`[fake-kubelet] ${line}`)
  }

  // ---- the Node ----------------------------------------------------------------------------

  private nodeStatus(): Record<string, unknown> {
    const t = nowIso()
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: t,
      lastTransitionTime: t
    })
    const resources = {
      cpu: '16',
      memory: '64Gi',
      pods: '250',
      'ephemeral-storage': '200Gi',
      'hugepages-2Mi': '0'
    }
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available'
        ),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond(
          'PIDPressure',
          'False',
          'KubeletHasSufficientPID',
          'kubelet has sufficient PID available'
        ),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: this.nodeName }
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.portValue } },
      nodeInfo: {
        machineID: 'testbed',
        systemUUID: 'testbed',
        bootID: 'testbed',
        kernelVersion: '6.1.0',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'testbed://1.0.0',
        kubeletVersion: 'v1.20.2',
        kubeProxyVersion: 'v1.20.2',
        operatingSystem: 'linux',
        architecture: 'amd64'
      }
    }
  }

  private async registerNode(): Promise<void> {
    const path = kpath('v1', 'nodes', undefined, this.nodeName)
    const arch = { 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/arch': 'amd64' }
    const os = { 'kubernetes.io/os': 'linux', 'beta.kubernetes.io/os': 'linux' }
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels: {
          ...arch,
          ...os,
          'kubernetes.io/hostname': this.nodeName,
          'node-role.kubernetes.io/control-plane': 'true',
          'node-role.kubernetes.io/master': 'true',
          'node-role.kubernetes.io/etcd': 'true'
        }
      },
      spec: { podCIDR: '10.42.0.0/16', podCIDRs: ['10.42.0.0/16'] },
      status: this.nodeStatus()
    }
    try {
      await this.api.create(kpath('v1', 'nodes'), node)
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e
    }
    await this.api.patch(`${path}/status`, { status: this.nodeStatus() })
    // The TaintNodesByCondition admission plugin adds node.kubernetes.io/not-ready on create.
    const current = await this.api.get<KubeObject & { spec?: { taints?: { key: string }[] } }>(path)
    const taints = (current.spec?.taints ?? []).filter(
      t =>
        !t.key.startsWith('node.kubernetes.io/not-ready') &&
        t.key !== 'node.kubernetes.io/unreachable'
    )
    await this.api.patch(path, { spec: { taints: taints.length > 0 ? taints : null } })
  }

  // ---- pods --------------------------------------------------------------------------------

  private async watchPods(): Promise<void> {
    for await (const ev of this.api.listAndWatch<Pod>(kpath('v1', 'pods'), {
      fieldSelector: `spec.nodeName=${this.nodeName}`,
      signal: this.stopper.signal
    })) {
      this.onPod(ev.type, ev.object)
    }
  }

  private onPod(type: string, pod: Pod): void {
    const uid = pod.metadata.uid ?? ''
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`
    if (type === 'DELETED') {
      const st = this.pods.get(uid)
      if (st) {
        st.abort.abort()
        this.pods.delete(uid)
        if (this.byName.get(key) === st) this.byName.delete(key)
        void st.done.then(() => {
          for (const l of st.logs.values()) this.closeLog(l)
        })
      }
      return
    }
    if (pod.spec.nodeName !== this.nodeName) return
    let st = this.pods.get(uid)
    if (!st) {
      if (pod.metadata.deletionTimestamp) {
        void this.forceDelete(pod)
        return
      }
      st = this.track(pod)
      this.pods.set(uid, st)
      this.byName.set(key, st)
      const s = st
      s.done = this.runPod(s).catch(e => {
        if (!s.abort.signal.aborted) this.debug(`pod ${key}: ${(e as Error).message}`)
      })
    }
    st.pod = pod
    if (pod.metadata.deletionTimestamp && !st.terminating) {
      st.terminating = true
      void this.terminate(st)
    }
  }

  private track(pod: Pod): PodState {
    const n = this.nextIp++
    const logs = new Map<string, ContainerLog>()
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      logs.set(c.name, { runs: [[]], closed: false, followers: new Set() })
    }
    return {
      pod,
      uid: pod.metadata.uid ?? '',
      ip: pod.spec.hostNetwork ? '127.0.0.1' : `10.42.${(n >> 8) & 255}.${n & 255}`,
      abort: new AbortController(),
      done: Promise.resolve(),
      terminating: false,
      logs,
      writes: Promise.resolve(),
      startedAt: nowIso(),
      ready: true,
      restartCount: 0,
      lastState: {}
    }
  }

  private async terminate(st: PodState): Promise<void> {
    st.abort.abort()
    const grace = Math.min(st.pod.metadata.deletionGracePeriodSeconds ?? 30, 10)
    await Promise.race([st.done, new Promise(r => setTimeout(r, grace * 1000))])
    await st.writes.catch(() => undefined)
    await this.forceDelete(st.pod)
  }

  private async forceDelete(pod: Pod): Promise<void> {
    const path = kpath('v1', 'pods', pod.metadata.namespace, pod.metadata.name)
    try {
      await this.api.delete(path, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid }
      })
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) {
        if (!this.stopper.signal.aborted)
          this.debug(`delete ${pod.metadata.name}: ${(e as Error).message}`)
      }
    }
  }

  /** Serialised status writes (merge patch of the whole status). */
  private writeStatus(st: PodState, status: Record<string, unknown>): Promise<void> {
    const path = kpath('v1', 'pods', st.pod.metadata.namespace, st.pod.metadata.name, 'status')
    // A status the API server did not take is written again until it is (the kubelet's status
    // manager keeps the latest status and syncs it again: pkg/kubelet/status/status_manager.go,
    // every 10 s there, every second here); a pod that is gone or replaced needs none.
    const next = st.writes.then(async () => {
      if (this.stopper.signal.aborted) return
      for (;;) {
        try {
          await this.api.patch(path, { metadata: { uid: st.uid }, status })
          return
        } catch (e) {
          if (e instanceof KubeApiError && (e.status === 404 || e.status === 409)) return
          if (this.stopper.signal.aborted || st.abort.signal.aborted) return
          this.debug(`status ${st.pod.metadata.name}: ${(e as Error).message}; writing it again`)
          await abortableSleep(1000, this.stopper.signal)
        }
      }
    })
    st.writes = next
    return next
  }

  private containerStatuses(
    st: PodState,
    state: Record<string, Record<string, unknown>>,
    ready: boolean
  ): ContainerStatus[] {
    return st.pod.spec.containers.map(c => ({
      name: c.name,
      image: c.image ?? '',
      imageID: `testbed://${c.image ?? ''}`,
      containerID: `testbed://${st.uid}/${c.name}/${st.restartCount}`,
      ready,
      started: 'running' in state,
      restartCount: st.restartCount,
      state,
      lastState: st.lastState
    }))
  }

  private podStatus(
    st: PodState,
    phase: string,
    state: Record<string, Record<string, unknown>>,
    ready: boolean,
    terminal = false
  ): Record<string, unknown> {
    const t = nowIso()
    const c = (type: string, ok: boolean, reason?: string) => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: t,
      ...(reason ? { reason } : {})
    })
    const notReadyReason = terminal ? 'PodCompleted' : 'ContainersNotReady'
    return {
      phase,
      conditions: [
        c('Initialized', true, terminal ? 'PodCompleted' : undefined),
        c('Ready', ready, ready ? undefined : notReadyReason),
        c('ContainersReady', ready, ready ? undefined : notReadyReason),
        c('PodScheduled', true)
      ],
      hostIP: '127.0.0.1',
      podIP: st.ip,
      podIPs: [{ ip: st.ip }],
      startTime: st.startedAt,
      initContainerStatuses: (st.pod.spec.initContainers ?? []).map(ic => ({
        name: ic.name,
        image: ic.image ?? '',
        imageID: `testbed://${ic.image ?? ''}`,
        containerID: `testbed://${st.uid}/${ic.name}/0`,
        ready: true,
        restartCount: 0,
        state: {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: st.startedAt,
            finishedAt: st.startedAt
          }
        },
        lastState: {}
      })),
      containerStatuses: this.containerStatuses(st, state, ready)
    }
  }

  private setRunning(st: PodState, ready: boolean, startedAt: string): Promise<void> {
    st.ready = ready
    return this.writeStatus(st, this.podStatus(st, 'Running', { running: { startedAt } }, ready))
  }

  private async runPod(st: PodState): Promise<void> {
    const pod = st.pod
    const signal = st.abort.signal
    const behaviour = this.behaviours.find(b => {
      try {
        return b.matches(pod)
      } catch {
        return false
      }
    })
    const policy = pod.spec.restartPolicy ?? 'Always'
    let startedAt = nowIso()
    await this.setRunning(st, !behaviour || behaviour.initiallyReady !== false, startedAt)
    if (!behaviour) return
    this.debug(`pod ${pod.metadata.namespace}/${pod.metadata.name}: behaviour ${behaviour.name}`)
    for (;;) {
      const outcome = await this.runOnce(st, behaviour)
      if (signal.aborted) return
      const o = typeof outcome === 'string' ? { result: outcome } : outcome
      const exitCode = o.exitCode ?? (o.result === 'Succeeded' ? 0 : 1)
      const terminated = {
        exitCode,
        reason: o.reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
        ...(o.message ? { message: o.message } : {}),
        startedAt,
        finishedAt: nowIso(),
        containerID: `testbed://${st.uid}/${pod.spec.containers[0]?.name}/${st.restartCount}`
      }
      for (const l of st.logs.values()) this.closeLog(l)
      if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
        await this.writeStatus(
          st,
          this.podStatus(st, exitCode === 0 ? 'Succeeded' : 'Failed', { terminated }, false, true)
        )
        return
      }
      // Restart in place (Always, or OnFailure after a failure).
      st.lastState = { terminated }
      st.restartCount++
      const waiting = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off restarting failed container`
        }
      }
      await this.writeStatus(st, this.podStatus(st, 'Running', waiting, false))
      const base = this.opts.restartBackoffMs ?? 1000
      await abortableSleep(Math.min(base * 2 ** (st.restartCount - 1), base * 10), signal)
      if (signal.aborted) return
      for (const l of st.logs.values()) {
        l.runs.push([])
        l.closed = false
      }
      startedAt = nowIso()
      await this.setRunning(st, behaviour.initiallyReady !== false, startedAt)
    }
  }

  private async runOnce(st: PodState, behaviour: PodBehaviour): Promise<BehaviourOutcome> {
    const first = st.pod.spec.containers[0]?.name ?? ''
    const log = (line: string, container?: string) => {
      const l = st.logs.get(container ?? first)
      if (!l) return
      for (const text of String(line).split('\n')) {
        const entry = { time: new Date(), text }
        l.runs[l.runs.length - 1]?.push(entry)
        for (const f of l.followers) f(entry)
      }
    }
    const ctl: BehaviourControl = {
      restartCount: st.restartCount,
      setReady: async (ready: boolean) => {
        if (st.abort.signal.aborted || ready === st.ready) return
        st.ready = ready
        const running = st.pod.status?.containerStatuses?.[0]?.state?.running
        await this.setRunning(st, ready, (running?.startedAt as string | undefined) ?? nowIso())
      }
    }
    try {
      return await behaviour.run(st.pod, log, st.abort.signal, ctl)
    } catch (e) {
      if (st.abort.signal.aborted) return 'Failed'
      log(`behaviour ${behaviour.name} threw: ${(e as Error).message}`)
      this.debug(`behaviour ${behaviour.name} threw: ${(e as Error).stack}`)
      return 'Failed'
    }
  }

  private closeLog(l: ContainerLog): void {
    l.closed = true
    for (const f of l.followers) f(null)
    l.followers.clear()
  }

  // ---- the log server ----------------------------------------------------------------------

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://kubelet')
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname)
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok')
      return
    }
    if (!m || req.method !== 'GET') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found')
      return
    }
    const [ns, name, container] = m.slice(1).map(decodeURIComponent) as [string, string, string]
    const st = this.byName.get(`${ns}/${name}`)
    const log = st?.logs.get(container)
    if (!st || !log) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain' })
        .end(`container "${container}" in pod "${name}" is not available`)
      return
    }
    const q = url.searchParams
    const previous = q.get('previous') === 'true'
    const timestamps = q.get('timestamps') === 'true'
    const follow = q.get('follow') === 'true' && !previous
    const tail = q.has('tailLines') ? Number(q.get('tailLines')) : -1
    let limit = q.has('limitBytes') ? Number(q.get('limitBytes')) : Infinity
    let since = 0
    if (q.has('sinceSeconds')) since = Date.now() - Number(q.get('sinceSeconds')) * 1000
    if (q.has('sinceTime')) since = Date.parse(q.get('sinceTime') ?? '') || 0
    const run = log.runs[log.runs.length - (previous ? 2 : 1)]
    if (!run) {
      res
        .writeHead(400, { 'Content-Type': 'text/plain' })
        .end(`previous terminated container "${container}" in pod "${name}" not found`)
      return
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' })
    const format = (l: LogLine) => `${timestamps ? `${l.time.toISOString()} ` : ''}${l.text}\n`
    const write = (l: LogLine): boolean => {
      if (l.time.getTime() < since) return true
      const s = format(l)
      if (Buffer.byteLength(s) > limit) {
        res.end(s.slice(0, Math.max(0, limit)))
        limit = 0
        return false
      }
      limit -= Buffer.byteLength(s)
      res.write(s)
      return true
    }
    let lines = run.filter(l => l.time.getTime() >= since)
    if (tail >= 0) lines = tail === 0 ? [] : lines.slice(-tail)
    for (const l of lines) if (!write(l)) return
    if (!follow || log.closed || st.abort.signal.aborted) {
      res.end()
      return
    }
    const follower = (l: LogLine | null) => {
      if (l === null || !write(l)) {
        log.followers.delete(follower)
        if (!res.writableEnded) res.end()
      }
    }
    log.followers.add(follower)
    req.on('close', () => log.followers.delete(follower))
  }
}
