/**
 * Rancher itself, simulated: a fake-kubelet behaviour for the pods of the `rancher` Deployment in
 * `cattle-system` (image `rancher/rancher:v<version>`, label `app=rancher`).
 *
 * What a starting Rancher does on a local cluster, as far as the rollback cares:
 * - logs its start-up (`[INFO] Rancher version v2.8.5 (…) is starting`, its arguments, clustered
 *   mode), then becomes Ready;
 * - takes part in leader election for `cattle-controllers` in `kube-system` (a Lease, mirrored as
 *   the leader annotation of the ConfigMap `kube-system/cattle-controllers` as client-go's
 *   configmapsleases lock wrote it; that ConfigMap is what rancher-cleanup deletes "as the only
 *   resource not in cattle namespaces"). Lease 45 s, retry every 2 s (wrangler's defaults); the
 *   lease is released when the pod is deleted. A leader that loses the lease exits (crash, the
 *   kubelet restarts it), as Rancher does.
 * - the leader only, once: BootstrapAdmin (see bootstrapAdmin below): on a first start (no
 *   ConfigMap `cattle-system/admincreated`) from v2.6.3 on, creates `cattle-system/bootstrap-secret`
 *   itself, without Helm's ownership metadata, when the chart did not;
 * - the leader only: installs or upgrades the `rancher-webhook` release in `cattle-system` to
 *   the webhook chart of its version; for 2.7.7 <= version < 2.13.0 installs
 *   `rancher-provisioning-capi` in `cattle-provisioning-capi-system`; from 2.13.0 on installs
 *   `rancher-turtles` in `cattle-turtles-system` instead (its chart puts core CAPI in
 *   `cattle-capi-system`), after uninstalling `rancher-provisioning-capi` and deleting its
 *   namespace (see "2.13 and Turtles" below); writes the
 *   `settings.management.cattle.io` object `server-version` (when that CRD exists); keeps the
 *   ClusterRole of the builtin GlobalRole `user` (GLOBAL_ROLE_CLUSTER_ROLE, see
 *   ensureGlobalRoleClusterRole). Real helm,
 *   the chart repository of testbed/services/chart-repo.ts. It re-checks every `resyncMs` (a release
 *   removed or changed behind its back is put back, as Rancher's controllers do).
 * - pods of a broken version (pod label BROKEN_LABEL=true) never become Ready: they log a fatal
 *   error and exit, and the kubelet restarts them (CrashLoopBackOff).
 *
 * 2.13 and Turtles. The sources disagree: the v2.14 Rollbacks page says rancher-provisioning-capi
 * was installed "in Rancher v2.7.7 through v2.13.x"; rancher/rancher#52254 says 2.13 "now installs
 * rancher/turtles instead", and turtles#1828 gives the 2.13 defaults as turtles=true,
 * embedded-cluster-api=false. The code decides it: at rancher/rancher v2.13.0 and v2.13.3,
 * pkg/features/feature.go defaults `turtles` to true and `embedded-cluster-api` to false, and
 * pkg/controllers/dashboard/systemcharts/controller.go (getChartsToInstall) then uninstalls
 * rancher-provisioning-capi and deletes cattle-provisioning-capi-system, and installs
 * rancher-turtles (buildconfig TurtlesVersion 108.0.4+up0.25.4) in cattle-turtles-system only
 * once that namespace is gone. 2.13 still ships a provisioning-capi chart version, used only when
 * a user turns Turtles off and embedded CAPI on (not simulated), which is how the docs sentence can
 * be read. v2.14.1 only uninstalls rancher-provisioning-capi ("TODO: remove in 2.15") and installs
 * rancher-turtles 109.0.1+up0.26.1 without waiting for the namespace. The Turtles chart
 * (rancher/turtles charts/rancher-turtles, values `namespace: cattle-turtles-system`, core CAPI
 * `namespace: cattle-capi-system`) is testbed/charts/rancher-turtles. Not simulated: 2.13's
 * deletion of the embedded `mutating-webhook-configuration`/`validating-webhook-configuration`
 * (cleanUpEmbeddedCAPIWebhooks; the testbed's provisioning-capi chart has none).
 */
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  BROKEN_LABEL,
  compareVersions,
  provisioningCapiChartVersionFor,
  rancherWebhookChartVersionFor,
  turtlesChartVersionFor
} from '../services/chart-repo.js'
import {
  abortableSleep,
  type BehaviourOutcome,
  type Pod,
  type PodBehaviour
} from '../cluster/fake-kubelet.js'
import { KubeApi, KubeApiError, kpath, type KubeObject } from '../cluster/kube-api.js'

export interface SimulatedRancherOptions {
  api: KubeApi
  /** The helm binary Rancher's chart operations run with. */
  helmPath: string
  kubeconfigPath: string
  /** A repository index listing `rancher-webhook` and `rancher-provisioning-capi` (chart-repo.ts). */
  chartRepoUrl: string
  /** How often the leader re-checks its charts (ms, default 15000). */
  resyncMs?: number
}

export const LEADER_LOCK = { namespace: 'kube-system', name: 'cattle-controllers' } as const
export const WEBHOOK_RELEASE = { name: 'rancher-webhook', namespace: 'cattle-system' } as const
export const CAPI_RELEASE = {
  name: 'rancher-provisioning-capi',
  namespace: 'cattle-provisioning-capi-system'
} as const
export const TURTLES_RELEASE = {
  name: 'rancher-turtles',
  namespace: 'cattle-turtles-system'
} as const
/** Where the rancher-turtles chart puts core CAPI. */
export const CAPI_CORE_NAMESPACE = 'cattle-capi-system'

/**
 * The ClusterRole Rancher's GlobalRole controller keeps for the builtin GlobalRole `user`
 * (pkg/controllers/management/auth/globalroles/globalrole_handler.go: `cattle-globalrole-<name>`).
 */
export const GLOBAL_ROLE_CLUSTER_ROLE = 'cattle-globalrole-user'
const GR_OWNER_LABEL = 'authz.management.cattle.io/gr-owner'

const LEASE_SECONDS = 45
const RETRY_MS = 2000

const IMAGE_RE = /^(?:[^/@\s]+\/)*rancher\/rancher:v(\d+\.\d+\.\d+)(?:[-+][\w.-]*)?$/

/** The Rancher version a pod runs (`2.8.5`), or undefined when it is not a rancher pod. */
export function rancherVersionOfPod(pod: Pod): string | undefined {
  if (pod.metadata.namespace !== 'cattle-system') return undefined
  if (pod.metadata.labels?.app !== 'rancher') return undefined
  const image = pod.spec.containers[0]?.image
  return typeof image === 'string' ? IMAGE_RE.exec(image)?.[1] : undefined
}

/** Whether Rancher `version` installs rancher-provisioning-capi (2.7.7 <= v < 2.13.0). */
export function installsProvisioningCapi(version: string): boolean {
  return compareVersions(version, '2.7.7') >= 0 && compareVersions(version, '2.13.0') < 0
}

/** Whether Rancher `version` installs rancher-turtles (2.13.0 on) instead. */
export function installsTurtles(version: string): boolean {
  return compareVersions(version, '2.13.0') >= 0
}

/** The CAPI controllers Rancher `version` installs without waiting for them to roll out. */
export function capiControllersOf(version: string): { namespace: string; name: string }[] {
  if (installsTurtles(version)) {
    return [
      { namespace: TURTLES_RELEASE.namespace, name: 'rancher-turtles-controller-manager' },
      { namespace: CAPI_CORE_NAMESPACE, name: 'capi-controller-manager' }
    ]
  }
  return installsProvisioningCapi(version)
    ? [{ namespace: CAPI_RELEASE.namespace, name: 'capi-controller-manager' }]
    : []
}

/**
 * Whether Rancher `version` creates `bootstrap-secret` itself when it is missing: GetBootstrapPassword
 * (pkg/data/management/bootstrap_password.go) exists from v2.6.3 (commit 1740fccdd2); v2.6.0-v2.6.2
 * only read CATTLE_BOOTSTRAP_PASSWORD from the Secret their chart always rendered.
 */
export function createsBootstrapSecret(version: string): boolean {
  return compareVersions(version, '2.6.3') >= 0
}

/**
 * Whether GetBootstrapPassword keeps an existing Secret's `data.bootstrapPassword`. Before
 * rancher/rancher#47965 (v2.11.0; backports #48533 in v2.9.6, #48532 in v2.10.2) it read
 * `StringData`, which the API server never returns, so it overwrote an existing Secret with
 * CATTLE_BOOTSTRAP_PASSWORD or a random token (rancher/rancher#47964).
 */
function keepsExistingBootstrapPassword(version: string): boolean {
  const [major, minor] = version.split('.').map(Number)
  if (major === 2 && minor === 9) return compareVersions(version, '2.9.6') >= 0
  if (major === 2 && minor === 10) return compareVersions(version, '2.10.2') >= 0
  return compareVersions(version, '2.11.0') >= 0
}

export const BOOTSTRAP_SECRET = { namespace: 'cattle-system', name: 'bootstrap-secret' } as const
/** role_data.go's bootstrapAdminConfig: its presence means the default admin was created. */
export const ADMIN_CREATED = { namespace: 'cattle-system', name: 'admincreated' } as const

/** The fake-kubelet behaviour of Rancher's pods. */
export function simulatedRancher(opts: SimulatedRancherOptions): PodBehaviour {
  return {
    name: 'rancher',
    initiallyReady: false,
    matches: pod => rancherVersionOfPod(pod) !== undefined,
    async run(pod, log, signal, ctl): Promise<BehaviourOutcome> {
      const version = rancherVersionOfPod(pod) ?? '0.0.0'
      const r = new RancherPod(opts, pod, version, log, signal, (args, sig) =>
        runHelm(opts, args, sig)
      )
      // The pod IP is in the status the kubelet has just written.
      const fresh = await opts.api
        .tryGet<Pod>(kpath('v1', 'pods', pod.metadata.namespace, pod.metadata.name))
        .catch(() => undefined)
      r.start(fresh?.status?.podIP ?? pod.status?.podIP)
      if (pod.metadata.labels?.[BROKEN_LABEL] === 'true') {
        await abortableSleep(1500, signal)
        if (signal.aborted) return 'Failed'
        r.fatal(
          `failed to start Rancher v${version}: panic: runtime error: invalid memory address or nil pointer dereference [recovered]`
        )
        return { result: 'Failed', exitCode: 1, reason: 'Error' }
      }
      await abortableSleep(500, signal)
      if (signal.aborted) return 'Failed'
      r.info('Starting API controllers')
      await ctl.setReady(true)
      return r.electAndLead()
    }
  }
}

// ---------------------------------------------------------------------------------------------

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** Go's log package: `2006/01/02 15:04:05` (UTC in the container). */
function goTime(d = new Date()): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/** klog: `I0102 15:04:05.000000      32 file.go:123] msg`. */
function klogLine(level: 'I' | 'E', where: string, msg: string, d = new Date()): string {
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`
  return `${level}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${time}      32 ${where}] ${msg}`
}

/** Kubernetes MicroTime. */
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string
    leaseDurationSeconds?: number
    acquireTime?: string
    renewTime?: string
    leaseTransitions?: number
  }
}

interface HelmReleaseState {
  status: string
  chartVersion: string
}

/** Real helm, with its own throw-away HELM_*_HOME (removed afterwards). */
async function runHelm(
  opts: SimulatedRancherOptions,
  args: string[],
  signal: AbortSignal
): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'testbed-sim-rancher-helm-'))
  try {
    return await new Promise<string>((resolve, reject) => {
      execFile(
        opts.helmPath,
        [...args, '--kubeconfig', opts.kubeconfigPath],
        {
          signal,
          timeout: 120_000,
          maxBuffer: 16 << 20,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: home,
            HELM_CACHE_HOME: join(home, 'cache'),
            HELM_CONFIG_HOME: join(home, 'config'),
            HELM_DATA_HOME: join(home, 'data')
          }
        },
        (err, stdout, stderr) => {
          if (err) reject(new Error((stderr || err.message).trim()))
          else resolve(stdout)
        }
      )
    })
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}

class RancherPod {
  private readonly me: string
  private readonly leasePath = kpath(
    'coordination.k8s.io/v1',
    'leases',
    LEADER_LOCK.namespace,
    LEADER_LOCK.name
  )
  private leader = false
  private adminBootstrapped = false

  constructor(
    private readonly opts: SimulatedRancherOptions,
    private readonly pod: Pod,
    private readonly version: string,
    private readonly log: (line: string) => void,
    private readonly signal: AbortSignal,
    private readonly helm: (args: string[], signal: AbortSignal) => Promise<string>
  ) {
    this.me = pod.metadata.name ?? 'rancher'
  }

  get api(): KubeApi {
    return this.opts.api
  }

  info(msg: string): void {
    this.log(`${goTime()} [INFO] ${msg}`)
  }

  error(msg: string): void {
    this.log(`${goTime()} [ERROR] ${msg}`)
  }

  fatal(msg: string): void {
    this.log(`${goTime()} [FATAL] ${msg}`)
  }

  start(podIP: string | undefined): void {
    const commit = createHash('sha1').update(`rancher-${this.version}`).digest('hex').slice(0, 9)
    this.info(`Rancher version v${this.version} (${commit}) is starting`)
    this.info(
      `Rancher arguments {ACMEDomains:[] AddLocal:true Embedded:false BindHost: HTTPListenPort:80 HTTPSListenPort:443 K8sMode:auto Debug:false Trace:false NoCACerts:false AuditLogPath:/var/log/auditlog/rancher-api-audit.log AuditLogMaxage:10 AuditLogMaxsize:100 AuditLogMaxbackup:10 AuditLevel:0 Features: ClusterRegistry:}`
    )
    this.info('Listening on /tmp/log.sock')
    const ip = podIP ?? '10.42.0.1'
    this.info(`Running in clustered mode with ID ${ip}, monitoring endpoint cattle-system/rancher`)
  }

  /** Leader election, then (as leader) the chart work, until the pod goes away. */
  async electAndLead(): Promise<BehaviourOutcome> {
    const lock = `${LEADER_LOCK.namespace}/${LEADER_LOCK.name}`
    this.log(
      klogLine('I', 'leaderelection.go:250', `attempting to acquire leader lease ${lock}...`)
    )
    let nextResync = 0
    try {
      while (!this.signal.aborted) {
        let held: boolean
        try {
          held = await this.tryAcquireOrRenew()
        } catch (e) {
          if (this.signal.aborted) break
          this.log(
            klogLine(
              'E',
              'leaderelection.go:332',
              `error retrieving resource lock ${lock}: ${(e as Error).message}`
            )
          )
          held = this.leader
        }
        if (this.leader && !held) {
          this.log(
            klogLine(
              'I',
              'leaderelection.go:285',
              `failed to renew lease ${lock}: timed out waiting for the condition`
            )
          )
          this.fatal('leaderelection lost for cattle-controllers')
          return { result: 'Failed', exitCode: 1, reason: 'Error' }
        }
        if (held && !this.leader) {
          this.leader = true
          this.log(klogLine('I', 'leaderelection.go:260', `successfully acquired lease ${lock}`))
          this.info('Starting management controllers')
        }
        if (this.leader && Date.now() >= nextResync) {
          await this.ensure()
          nextResync = Date.now() + (this.opts.resyncMs ?? 15_000)
        }
        await abortableSleep(RETRY_MS, this.signal)
      }
    } finally {
      if (this.leader) await this.release()
    }
    return 'Failed'
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date()
    const existing = await this.api.tryGet<Lease>(this.leasePath)
    if (!existing) {
      try {
        await this.api.create(kpath('coordination.k8s.io/v1', 'leases', LEADER_LOCK.namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: LEADER_LOCK.name, namespace: LEADER_LOCK.namespace },
          spec: {
            holderIdentity: this.me,
            leaseDurationSeconds: LEASE_SECONDS,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0
          }
        })
      } catch (e) {
        if (e instanceof KubeApiError && e.status === 409) return false
        throw e
      }
      await this.mirror(now, now, 0)
      return true
    }
    const spec = existing.spec ?? {}
    const holder = spec.holderIdentity ?? ''
    const renewed = Date.parse(spec.renewTime ?? '') || 0
    const expired = renewed + (spec.leaseDurationSeconds ?? LEASE_SECONDS) * 1000 < now.getTime()
    if (holder !== '' && holder !== this.me && !expired) return false
    const takeover = holder !== this.me
    const acquired = takeover ? now : new Date(Date.parse(spec.acquireTime ?? '') || now.getTime())
    const transitions = (spec.leaseTransitions ?? 0) + (takeover && holder !== '' ? 1 : 0)
    try {
      await this.api.replace(this.leasePath, {
        ...existing,
        spec: {
          holderIdentity: this.me,
          leaseDurationSeconds: LEASE_SECONDS,
          acquireTime: microTime(acquired),
          renewTime: microTime(now),
          leaseTransitions: transitions
        }
      })
    } catch (e) {
      if (e instanceof KubeApiError && (e.status === 409 || e.status === 404)) return false
      throw e
    }
    await this.mirror(acquired, now, transitions)
    return true
  }

  /** The ConfigMap half of the configmapsleases lock: the leader annotation. */
  private async mirror(acquired: Date, renewed: Date, transitions: number): Promise<void> {
    const record = JSON.stringify({
      holderIdentity: this.me,
      leaseDurationSeconds: LEASE_SECONDS,
      acquireTime: acquired.toISOString().replace(/\.\d+Z$/, 'Z'),
      renewTime: renewed.toISOString().replace(/\.\d+Z$/, 'Z'),
      leaderTransitions: transitions
    })
    const annotations = { 'control-plane.alpha.kubernetes.io/leader': record }
    const path = kpath('v1', 'configmaps', LEADER_LOCK.namespace, LEADER_LOCK.name)
    try {
      await this.api.patch(path, { metadata: { annotations } })
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e
      await this.api
        .create(kpath('v1', 'configmaps', LEADER_LOCK.namespace), {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: LEADER_LOCK.name, namespace: LEADER_LOCK.namespace, annotations }
        })
        .catch((err: unknown) => {
          if (!(err instanceof KubeApiError && err.status === 409)) throw err
        })
    }
  }

  /** ReleaseOnCancel: give the lease up so that another pod takes over at once. */
  private async release(): Promise<void> {
    try {
      const lease = await this.api.tryGet<Lease>(this.leasePath)
      if (lease?.spec?.holderIdentity !== this.me) return
      await this.api.replace(this.leasePath, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime()
        }
      })
    } catch {
      /* best effort: the lease expires anyway */
    }
  }

  /** The leader's chart work: webhook, provisioning-capi or turtles, server-version. */
  private async ensure(): Promise<void> {
    try {
      if (!this.adminBootstrapped) {
        await this.bootstrapAdmin()
        this.adminBootstrapped = true
      }
      await this.ensureRelease(
        WEBHOOK_RELEASE.name,
        WEBHOOK_RELEASE.namespace,
        rancherWebhookChartVersionFor(this.version),
        false
      )
      const capi = installsProvisioningCapi(this.version)
        ? provisioningCapiChartVersionFor(this.version)
        : undefined
      if (capi) await this.ensureRelease(CAPI_RELEASE.name, CAPI_RELEASE.namespace, capi, true)
      const turtles = installsTurtles(this.version)
        ? turtlesChartVersionFor(this.version)
        : undefined
      if (turtles && (await this.provisioningCapiGone())) {
        await this.ensureRelease(TURTLES_RELEASE.name, TURTLES_RELEASE.namespace, turtles, true)
      }
      await this.ensureGlobalRoleClusterRole()
      await this.ensureServerVersion()
    } catch (e) {
      if (!this.signal.aborted) this.error(`[ensure charts] ${(e as Error).message.split('\n')[0]}`)
    }
  }

  /**
   * 2.13+: rancher-provisioning-capi is uninstalled and its namespace deleted; 2.13 installs
   * Turtles only once that namespace is gone, 2.14 does not wait.
   */
  private async provisioningCapiGone(): Promise<boolean> {
    const { name, namespace } = CAPI_RELEASE
    if (await this.releaseState(name, namespace)) {
      this.info(`Uninstalling chart ${name} from namespace ${namespace}`)
      await this.helm(['uninstall', name, '--namespace', namespace], this.signal)
    }
    const path = kpath('v1', 'namespaces', undefined, namespace)
    if (!(await this.api.tryGet(path))) return true
    await this.api.delete(path)
    return compareVersions(this.version, '2.14.0') >= 0
  }

  private async ensureRelease(
    name: string,
    namespace: string,
    chartVersion: string,
    createNamespace: boolean
  ): Promise<void> {
    const state = await this.releaseState(name, namespace)
    if (state?.status === 'deployed' && state.chartVersion === chartVersion) return
    if (state && state.status.startsWith('pending-')) return // an operation is in progress
    this.info(
      `Installing chart ${name} version ${chartVersion} in namespace ${namespace}${state ? ` (was ${state.chartVersion}, ${state.status})` : ''}`
    )
    await this.helm(
      [
        'upgrade',
        '--install',
        name,
        name,
        '--repo',
        this.opts.chartRepoUrl,
        '--version',
        chartVersion,
        '--namespace',
        namespace,
        ...(createNamespace ? ['--create-namespace'] : []),
        '--timeout',
        '5m0s'
      ],
      this.signal
    )
    this.info(`Chart ${name} ${chartVersion} deployed in namespace ${namespace}`)
  }

  /** The newest revision of a Helm release, read from its release Secrets. */
  private async releaseState(
    name: string,
    namespace: string
  ): Promise<HelmReleaseState | undefined> {
    const list = await this.api.list<KubeObject & { data?: Record<string, string> }>(
      kpath('v1', 'secrets', namespace),
      { labelSelector: `owner=helm,name=${name}` }
    )
    let newest: (KubeObject & { data?: Record<string, string> }) | undefined
    for (const s of list.items) {
      const v = Number(s.metadata.labels?.version ?? 0)
      if (!newest || v > Number(newest.metadata.labels?.version ?? 0)) newest = s
    }
    if (!newest) return undefined
    let chartVersion = ''
    try {
      const inner = Buffer.from(newest.data?.release ?? '', 'base64').toString('utf8')
      const raw = Buffer.from(inner, 'base64')
      const json =
        raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('utf8') : raw.toString('utf8')
      const release = JSON.parse(json) as { chart?: { metadata?: { version?: string } } }
      chartVersion = release.chart?.metadata?.version ?? ''
    } catch {
      /* unreadable: treat as out of date */
    }
    return { status: newest.metadata.labels?.status ?? '', chartVersion }
  }

  /**
   * globalrole_handler.go reconcileGlobalRole. v2.12.3 creates the ClusterRole labelled
   * `authz.management.cattle.io/globalrole: "true"` and afterwards only keeps its rules; v2.13.3
   * also labels it `authz.management.cattle.io/gr-owner: <GlobalRole>` and adds that label to an
   * existing one ("Ensure existing ClusterRoles have the correct grOwnerLabel"). So a 2.12 backup
   * holds the ClusterRole without the label a 2.13 Rancher added, and restoring it removes the
   * label, which rancher-webhook denies (sim/webhook.ts; backup-restore-operator#844). The
   * GlobalRole itself and the ownerReference to it are not modelled (no GlobalRole CRD here).
   */
  private async ensureGlobalRoleClusterRole(): Promise<void> {
    const path = kpath(
      'rbac.authorization.k8s.io/v1',
      'clusterroles',
      undefined,
      GLOBAL_ROLE_CLUSTER_ROLE
    )
    const labelsOwner = compareVersions(this.version, '2.13.0') >= 0
    const rules = [
      { apiGroups: ['management.cattle.io'], resources: ['preferences'], verbs: ['*'] }
    ]
    const current = await this.api.tryGet<KubeObject>(path)
    try {
      if (!current) {
        await this.api.create(kpath('rbac.authorization.k8s.io/v1', 'clusterroles'), {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: {
            name: GLOBAL_ROLE_CLUSTER_ROLE,
            labels: {
              'authz.management.cattle.io/globalrole': 'true',
              ...(labelsOwner ? { [GR_OWNER_LABEL]: 'user' } : {})
            }
          },
          rules
        })
      } else if (labelsOwner && current.metadata.labels?.[GR_OWNER_LABEL] !== 'user') {
        this.info(
          `[mgmt-auth-gr-controller] Updating clusterRole ${GLOBAL_ROLE_CLUSTER_ROLE} owner from ${current.metadata.labels?.[GR_OWNER_LABEL] ?? ''} to user.`
        )
        await this.api.replace(path, {
          ...current,
          metadata: {
            ...current.metadata,
            labels: { ...current.metadata.labels, [GR_OWNER_LABEL]: 'user' }
          }
        })
      }
    } catch (e) {
      // A conflict or a webhook that is not up yet: the next resync tries again, as a requeue does.
      if (!(e instanceof KubeApiError)) throw e
      this.error(`[mgmt-auth-gr-controller] ${e.message}`)
    }
  }

  /**
   * BootstrapAdmin (pkg/data/management/role_data.go, v2.5-v2.14): nothing once the ConfigMap
   * `admincreated` exists; else, with no users (the testbed has none), the default admin from
   * GetBootstrapPassword's password, then that ConfigMap. A Restore brings the ConfigMap back
   * (the ResourceSet keeps every ConfigMap of cattle-system), so a restored Rancher skips this.
   */
  private async bootstrapAdmin(): Promise<void> {
    const configMaps = kpath('v1', 'configmaps', ADMIN_CREATED.namespace)
    if (await this.api.tryGet(`${configMaps}/${ADMIN_CREATED.name}`)) return
    if (createsBootstrapSecret(this.version)) await this.bootstrapPassword()
    this.info('Created default admin user and binding')
    await this.api
      .create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: ADMIN_CREATED })
      .catch((e: unknown) => {
        if (!(e instanceof KubeApiError && e.status === 409)) throw e
      })
  }

  /**
   * GetBootstrapPassword: the Secret it creates carries no labels or annotations, so Helm cannot
   * adopt it into a release (rancher/rancher#37060).
   */
  private async bootstrapPassword(): Promise<void> {
    const secrets = kpath('v1', 'secrets', BOOTSTRAP_SECRET.namespace)
    const path = `${secrets}/${BOOTSTRAP_SECRET.name}`
    const existing = await this.api.tryGet<KubeObject & { data?: Record<string, string> }>(path)
    if (existing?.data?.bootstrapPassword !== undefined) {
      if (keepsExistingBootstrapPassword(this.version)) return
    } else if (existing && keepsExistingBootstrapPassword(this.version)) {
      this.log(
        `${goTime()} [WARN] A bootstrap password secret was found, but did not match the expected structure.`
      )
    }
    // randomtoken.Generate: 54 characters of [bcdfghjklmnpqrstvwxz2456789].
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
    const password =
      (await this.envBootstrapPassword()) ||
      [...randomBytes(54)].map(b => alphabet[b % alphabet.length]).join('')
    const stringData = { bootstrapPassword: password }
    if (existing) await this.api.replace(path, { ...existing, stringData })
    else
      await this.api.create(secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: BOOTSTRAP_SECRET,
        type: 'Opaque',
        stringData
      })
  }

  /** CATTLE_BOOTSTRAP_PASSWORD as the kubelet resolves it for the container ('' when unset). */
  private async envBootstrapPassword(): Promise<string> {
    type EnvVar = {
      name: string
      value?: string
      valueFrom?: { secretKeyRef?: { name: string; key: string } }
    }
    const env = (this.pod.spec.containers[0]?.env ?? []) as EnvVar[]
    const v = env.find(e => e.name === 'CATTLE_BOOTSTRAP_PASSWORD')
    const ref = v?.valueFrom?.secretKeyRef
    if (!ref) return v?.value ?? ''
    const secret = await this.api.tryGet<KubeObject & { data?: Record<string, string> }>(
      kpath('v1', 'secrets', this.pod.metadata.namespace, ref.name)
    )
    return Buffer.from(secret?.data?.[ref.key] ?? '', 'base64').toString('utf8')
  }

  private async ensureServerVersion(): Promise<void> {
    const crd = await this.api.tryGet(
      kpath(
        'apiextensions.k8s.io/v1',
        'customresourcedefinitions',
        undefined,
        'settings.management.cattle.io'
      )
    )
    if (!crd) return
    const path = kpath('management.cattle.io/v3', 'settings', undefined, 'server-version')
    const value = `v${this.version}`
    const current = await this.api.tryGet<KubeObject & { value?: string }>(path)
    if (current?.value === value) return
    try {
      if (current) await this.api.patch(path, { value })
      else
        await this.api.create(kpath('management.cattle.io/v3', 'settings'), {
          apiVersion: 'management.cattle.io/v3',
          kind: 'Setting',
          metadata: { name: 'server-version' },
          default: '',
          value
        })
    } catch (e) {
      // The CRD may be going away (cleanup) or not be served yet.
      if (!(e instanceof KubeApiError && (e.status === 404 || e.status === 409))) throw e
    }
  }
}
