/**
 * The rancher/rancher-cleanup image, simulated: a fake-kubelet behaviour for the pods of
 * `deploy/rancher-cleanup.yaml` (`cleanup-job`, args `["force"]`) and `deploy/verify.yaml`
 * (`verify-job`, command `["verify.sh"]`), image `rancher/rancher-cleanup:<tag>`.
 *
 * Both scripts are replayed step by step, in the real scripts' order, as the kubectl calls they
 * make, through the real API server (so every consequence is the real one: the API server's own
 * answers, errors and timing). The container log is what the real container prints:
 *
 * cleanup.sh (rancher/rancher-cleanup `cleanup.sh`):
 * - the banner and warning echoes, `kubectl cluster-info`, `kubectl get nodes -o wide`; without
 *   `force` it asks "Do you want to continue (y/n)?", reads EOF and exits 1;
 * - then `set -x`: every command is traced to stderr (`+ kcd '-n cattle-system deploy,ds --all'`,
 *   `++` for command substitutions), interleaved with kubectl's own output (`deployment.apps
 *   "rancher" deleted`, `Error from server (NotFound): …`, API server warnings);
 * - `kcd` = up to 4 tries of `timeout 21 sh -c 'kubectl delete --ignore-not-found=true
 *   --grace-period=15 --timeout=20s <args>'` (kubectl waits for the objects to be gone);
 *   `kcpf` patches `metadata.finalizers` to null (its "after" line passes `"${*}"` as one argument,
 *   so kubectl fails there, as upstream); `kcdns` clears the namespace's finalizers through
 *   `/finalize` and then deletes it. On Kubernetes that first delete of a finalizer-less
 *   namespace leaves it Terminating (the namespace controller skips finalized namespaces) until
 *   kubectl times out after 20 s and the second try deletes it for good: measured on the testbed's
 *   1.20 API server, and what makes the real script slow. Objects that controllers re-create in
 *   between (kube-root-ca.crt, the default ServiceAccount) stay orphaned in etcd, as upstream.
 * - a `kcd` argument holding several names on separate lines (two matching webhook
 *   configurations) is run by `sh -c` as several commands: only the first is deleted, the rest
 *   fail with "No such file or directory", as upstream;
 * - no `set -e` and no `exit`: the exit code is 0 whatever failed.
 *
 * Order (upstream): cattle-system deployments and daemonsets (then wait for the app=rancher pods
 * to go), cm kube-system/cattle-controllers, webhook configurations (cattle.io,
 * rancher-monitoring, gatekeeper, istio, the CAPI `{validating,mutating}-webhook-configuration`),
 * ClusterRoleBindings and ClusterRoles (label `cattle.io/creator=norman`, names matching
 * `^cattle-`, `rancher`, `^fleet-`, …), the "data" CRDs, APIServices, PodSecurityPolicies, every
 * namespaced `cattle.io` object (not helm/k3s.cattle.io), logging, rancher-monitoring,
 * monitoring.coreos.com, gatekeeper and `cluster.x-k8s.io` objects, cluster-scoped `cattle.io`,
 * logging and gatekeeper objects, `istio-ca-root-cert` ConfigMaps, then the tools, fleet and
 * cattle namespaces (every object in them one by one, then the namespace), `cluster-fleet*`,
 * `p-*`, `c-*`, `user-*`, `u-*` namespaces, then logging, monitoring, gatekeeper, istio, CAPI and
 * cattle.io CRDs.
 *
 * verify.sh (rancher/rancher-cleanup `verify.sh`) prints only what is left: kubectl tables,
 * `kind.group/name` lines, custom-columns rows, and comma-separated lists of resource types with
 * no trailing newline (so consecutive lists run together on one line). Its namespace checks are
 * `kubectl get namespace -o name | grep "^cattle"` (and `^c-`, `^p-`, `^user-`, `^u-`): the
 * output starts with `namespace/`, so those anchored checks never match upstream, and neither do
 * they here; only the unanchored ones (`fleet`, `istio`, `elemental`, `rancher-operator-system`,
 * `cis-operator-system`) report a namespace. Exit code 0 always.
 *
 * Namespace lists: upstream `cleanup.sh` as stored at commit 0f23bc4 (CATTLE, TOOLS and FLEET
 * namespaces), with `cattle-provisioning-capi-system cattle-turtles-system cattle-capi-system`
 * added to CATTLE_NAMESPACES as the current upstream script has them.
 *
 * API server warnings (`Warning: extensions/v1beta1 Ingress is deprecated …`) are printed where
 * kubectl prints them: the KubeApi client does not expose response headers, so the known
 * deprecations of the served versions are listed here (seen with kubectl 1.32 on the 1.20 API
 * server).
 */
import type { BehaviourOutcome, Pod, PodBehaviour } from '../../cluster/fake-kubelet.js'
import { KubeApi, KubeApiError, kpath, type KubeObject } from '../../cluster/kube-api.js'

/** Version verify.sh/cleanup.sh print for the `latest` tag (latest full release). */
export const RANCHER_CLEANUP_LATEST = 'v1.0.3'

/** `rancher/rancher-cleanup[:tag][@digest]`, optionally behind a registry/mirror prefix. */
const IMAGE_RE =
  /^(?:[^/@\s]+\/)*rancher\/rancher-cleanup(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:[0-9a-f]{64})?$/

export type CleanupScript = 'cleanup' | 'verify'

/**
 * Which script a pod runs, or undefined when it is not a rancher-cleanup container: the image is
 * `rancher/rancher-cleanup`, and the command is the image's entrypoint (`cleanup.sh`, no command)
 * or `verify.sh`.
 */
export function cleanupScriptOf(pod: Pod): CleanupScript | undefined {
  const c = pod.spec.containers[0]
  if (!c || typeof c.image !== 'string' || !IMAGE_RE.test(c.image)) return undefined
  const command = Array.isArray(c.command) ? (c.command as unknown[]).map(String) : []
  const exe = command[0]
  if (exe === undefined) return 'cleanup'
  if (/^(?:\/usr\/local\/bin\/)?verify\.sh$/.test(exe)) return 'verify'
  if (/^(?:\/usr\/local\/bin\/)?cleanup\.sh$/.test(exe)) return 'cleanup'
  return undefined
}

/** The SCRIPT_VERSION the image's scripts print (the image tag; `latest` → the latest release). */
export function scriptVersionOf(image: string): string {
  const tag = IMAGE_RE.exec(image)?.[1]
  return !tag || tag === 'latest' ? RANCHER_CLEANUP_LATEST : tag
}

export interface SimulatedCleanupOptions {
  api: KubeApi
  /**
   * kubectl's `--timeout` in cleanup.sh's deletes (default 20, as upstream; `timeout` kills the
   * try one second later). Lower it to speed tests up; every existing namespace costs one.
   */
  deleteTimeoutSeconds?: number
}

/** The fake-kubelet behaviour of rancher-cleanup pods (cleanup.sh and verify.sh). */
export function simulatedCleanup(opts: SimulatedCleanupOptions): PodBehaviour {
  return {
    name: 'rancher-cleanup',
    matches: pod => cleanupScriptOf(pod) !== undefined,
    async run(pod, log, signal): Promise<BehaviourOutcome> {
      const script = cleanupScriptOf(pod) ?? 'cleanup'
      const container = pod.spec.containers[0]
      const image = String(container?.image ?? '')
      const out = new Output(log)
      const k = new Kubectl(opts.api, out, signal, {
        namespace: pod.metadata.namespace ?? 'default',
        serviceAccount: pod.spec.serviceAccountName ?? 'default'
      })
      let code = 0
      try {
        if (script === 'verify') {
          await verifyScript(k, scriptVersionOf(image))
        } else {
          const args = Array.isArray(container?.args)
            ? (container.args as unknown[]).map(String)
            : []
          code = await cleanupScript(k, scriptVersionOf(image), args, {
            deleteTimeoutSeconds: opts.deleteTimeoutSeconds ?? 20
          })
        }
      } catch (e) {
        if (signal.aborted) return 'Failed'
        throw e
      } finally {
        out.end()
      }
      return code === 0 ? 'Succeeded' : { result: 'Failed', exitCode: code }
    }
  }
}

/**
 * What verify.sh prints against the cluster now, as one string (stdout and stderr in order, as
 * `kubectl logs` shows them). The behaviour logs exactly this, line by line.
 */
export async function verifyOutput(
  api: KubeApi,
  opts: { version?: string; signal?: AbortSignal } = {}
): Promise<string> {
  const lines: string[] = []
  const out = new Output(line => lines.push(line))
  const k = new Kubectl(api, out, opts.signal ?? new AbortController().signal)
  await verifyScript(k, opts.version ?? RANCHER_CLEANUP_LATEST)
  // The last type list has no trailing newline.
  return out.end() ? lines.join('\n') : lines.map(l => `${l}\n`).join('')
}

// ---------------------------------------------------------------------------------------------
// Output: one stream (stdout and stderr), written in pieces, logged per complete line
// ---------------------------------------------------------------------------------------------

class Output {
  private partial = ''
  constructor(private readonly emit: (line: string) => void) {}

  /** Raw text (may end without a newline: the next write continues the line). */
  write(text: string): void {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const p of parts) this.emit(p)
  }

  line(text = ''): void {
    this.write(`${text}\n`)
  }

  lines(lines: string[]): void {
    for (const l of lines) this.line(l)
  }

  /** Flush; true when the output ended without a newline. */
  end(): boolean {
    const partial = this.partial !== ''
    if (partial) this.emit(this.partial)
    this.partial = ''
    return partial
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting as kubectl and bash do it
// ---------------------------------------------------------------------------------------------

/**
 * How bash's xtrace quotes one word: words with shell metacharacters in single quotes (an
 * embedded newline stays literal, as bash 5 prints it), assignments as `NAME='value'`.
 */
export function shellQuote(w: string): string {
  if (w === '') return "''"
  if (/[\s'"\\|&;()<>!{}*[?\]^$`]/.test(w) || /^[~#]/.test(w))
    return `'${w.replace(/'/g, "'\\''")}'`
  return w
}

/** text/tabwriter as kubectl configures it (minwidth 6, padding 3; last cell unpadded). */
export function tabwrite(rows: string[][]): string[] {
  const widths: number[] = []
  for (const r of rows) {
    r.forEach((cell, i) => {
      if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 6, cell.length + 3)
    })
  }
  return rows.map(r =>
    r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i] ?? 6) : cell)).join('')
  )
}

/** k8s.io/apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365
    const y = Math.floor(hours / 24 / 365)
    return dy === 0 ? `${y}y` : `${y}y${dy}d`
  }
  return `${Math.floor(hours / 24 / 365)}y`
}

function age(obj: KubeObject): string {
  const t = Date.parse(obj.metadata.creationTimestamp ?? '')
  return Number.isFinite(t) ? humanDuration(Date.now() - t) : '<unknown>'
}

// ---------------------------------------------------------------------------------------------
// Discovery (kubectl api-resources)
// ---------------------------------------------------------------------------------------------

export interface ApiResource {
  group: string
  version: string
  /** Plural. */
  name: string
  kind: string
  namespaced: boolean
  verbs: string[]
  shortNames: string[]
  singularName: string
}

const gvOf = (r: ApiResource): string => (r.group ? `${r.group}/${r.version}` : r.version)
/** `kubectl api-resources -o name`: `plural.group`. */
const resourceName = (r: ApiResource): string => (r.group ? `${r.name}.${r.group}` : r.name)
/** What `-o name`, `delete` and `patch` print: `kind.group`, kind lowercased. */
const kindGroup = (r: ApiResource): string =>
  r.group ? `${r.kind.toLowerCase()}.${r.group}` : r.kind.toLowerCase()

interface Discovery {
  /** The API server's minor version (warnings depend on it). */
  minor: number
  resources: ApiResource[]
  failed: { gv: string; message: string }[]
}

interface ApiGroupList {
  groups: {
    name: string
    versions: { groupVersion: string; version: string }[]
    preferredVersion?: { groupVersion: string; version: string }
  }[]
}

interface ApiResourceList {
  resources: {
    name: string
    singularName?: string
    namespaced: boolean
    kind: string
    verbs?: string[]
    shortNames?: string[]
  }[]
}

async function discover(api: KubeApi): Promise<Discovery> {
  const [groups, version] = await Promise.all([
    api.request<ApiGroupList>('GET', '/apis'),
    api.request<{ minor?: string }>('GET', '/version')
  ])
  const minor = Number.parseInt(version.minor ?? '', 10) || 0
  const gvs: { group: string; version: string; path: string }[] = [
    { group: '', version: 'v1', path: '/api/v1' }
  ]
  for (const g of groups.groups) {
    const versions = [...g.versions]
    const pref = g.preferredVersion?.version
    versions.sort((a, b) => (a.version === pref ? -1 : b.version === pref ? 1 : 0))
    for (const v of versions)
      gvs.push({ group: g.name, version: v.version, path: `/apis/${v.groupVersion}` })
  }
  const failed: Discovery['failed'] = []
  const lists = await Promise.all(
    gvs.map(gv =>
      api.request<ApiResourceList>('GET', gv.path).catch((e: unknown) => {
        const body = e instanceof KubeApiError ? (e.body as { message?: string }) : undefined
        failed.push({
          gv: gv.group ? `${gv.group}/${gv.version}` : gv.version,
          message: body?.message ?? (e as Error).message
        })
        return undefined
      })
    )
  )
  const seen = new Set<string>()
  const resources: ApiResource[] = []
  gvs.forEach((gv, i) => {
    for (const r of lists[i]?.resources ?? []) {
      if (r.name.includes('/')) continue
      const key = `${gv.group}/${r.name}`
      if (seen.has(key)) continue
      seen.add(key)
      resources.push({
        group: gv.group,
        version: gv.version,
        name: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
        shortNames: r.shortNames ?? [],
        singularName: r.singularName || r.kind.toLowerCase()
      })
    }
  })
  // kubectl api-resources sorts by API group, then by name.
  resources.sort((a, b) =>
    a.group === b.group ? (a.name < b.name ? -1 : 1) : a.group < b.group ? -1 : 1
  )
  return { minor, resources, failed }
}

/**
 * Deprecation warnings the API server sends (as `Warning:` response headers) for a served
 * group/version/resource; kubectl prints each once per invocation on stderr.
 */
const DEPRECATIONS: Record<string, { message: string; fromMinor: number }> = {
  'extensions/v1beta1/ingresses': {
    message:
      'extensions/v1beta1 Ingress is deprecated in v1.14+, unavailable in v1.22+; use networking.k8s.io/v1 Ingress',
    fromMinor: 19
  },
  'policy/v1beta1/podsecuritypolicies': {
    message: 'policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+, unavailable in v1.25+',
    fromMinor: 21
  }
}

// ---------------------------------------------------------------------------------------------
// Table printers (the API server's Table columns for the kinds the scripts print)
// ---------------------------------------------------------------------------------------------

type Obj = KubeObject & Record<string, unknown>

function dig(o: unknown, ...keys: string[]): unknown {
  let cur = o
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0)

function columnsOf(r: ApiResource): string[] {
  switch (resourceName(r)) {
    case 'deployments.apps':
      return ['READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']
    case 'daemonsets.apps':
      return ['DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE']
    case 'configmaps':
      return ['DATA', 'AGE']
    case 'namespaces':
      return ['STATUS', 'AGE']
    case 'clusterrolebindings.rbac.authorization.k8s.io':
      return ['ROLE', 'AGE']
    case 'clusterroles.rbac.authorization.k8s.io':
    case 'customresourcedefinitions.apiextensions.k8s.io':
      return ['CREATED AT']
    case 'mutatingwebhookconfigurations.admissionregistration.k8s.io':
    case 'validatingwebhookconfigurations.admissionregistration.k8s.io':
      return ['WEBHOOKS', 'AGE']
    case 'apiservices.apiregistration.k8s.io':
      return ['SERVICE', 'AVAILABLE', 'AGE']
    case 'podsecuritypolicies.policy':
      return [
        'PRIV',
        'CAPS',
        'SELINUX',
        'RUNASUSER',
        'FSGROUP',
        'SUPGROUP',
        'READONLYROOTFS',
        'VOLUMES'
      ]
    default:
      return ['AGE']
  }
}

function cellsOf(r: ApiResource, o: Obj): string[] {
  switch (resourceName(r)) {
    case 'deployments.apps':
      return [
        `${num(dig(o, 'status', 'readyReplicas'))}/${num(dig(o, 'spec', 'replicas'))}`,
        String(num(dig(o, 'status', 'updatedReplicas'))),
        String(num(dig(o, 'status', 'availableReplicas'))),
        age(o)
      ]
    case 'daemonsets.apps': {
      const sel = (dig(o, 'spec', 'template', 'spec', 'nodeSelector') ?? {}) as Record<
        string,
        string
      >
      const selText =
        Object.keys(sel)
          .sort()
          .map(k => `${k}=${sel[k]}`)
          .join(',') || '<none>'
      return [
        String(num(dig(o, 'status', 'desiredNumberScheduled'))),
        String(num(dig(o, 'status', 'currentNumberScheduled'))),
        String(num(dig(o, 'status', 'numberReady'))),
        String(num(dig(o, 'status', 'updatedNumberScheduled'))),
        String(num(dig(o, 'status', 'numberAvailable'))),
        selText,
        age(o)
      ]
    }
    case 'configmaps':
      return [
        String(
          Object.keys((o.data ?? {}) as object).length +
            Object.keys((o.binaryData ?? {}) as object).length
        ),
        age(o)
      ]
    case 'namespaces':
      return [String(dig(o, 'status', 'phase') ?? ''), age(o)]
    case 'clusterrolebindings.rbac.authorization.k8s.io':
      return [`${String(dig(o, 'roleRef', 'kind'))}/${String(dig(o, 'roleRef', 'name'))}`, age(o)]
    case 'clusterroles.rbac.authorization.k8s.io':
    case 'customresourcedefinitions.apiextensions.k8s.io':
      return [o.metadata.creationTimestamp ?? '']
    case 'mutatingwebhookconfigurations.admissionregistration.k8s.io':
    case 'validatingwebhookconfigurations.admissionregistration.k8s.io':
      return [String(((o.webhooks ?? []) as unknown[]).length), age(o)]
    case 'apiservices.apiregistration.k8s.io': {
      const svc = dig(o, 'spec', 'service') as { namespace?: string; name?: string } | undefined
      const conds = (dig(o, 'status', 'conditions') ?? []) as {
        type: string
        status: string
        reason?: string
      }[]
      const a = conds.find(c => c.type === 'Available')
      const avail = !a
        ? 'Unknown'
        : a.status === 'True'
          ? 'True'
          : `${a.status} (${a.reason ?? ''})`
      return [svc ? `${svc.namespace}/${svc.name}` : 'Local', avail, age(o)]
    }
    case 'podsecuritypolicies.policy': {
      const s = (o.spec ?? {}) as Record<string, unknown>
      const rule = (k: string) => String(dig(s, k, 'rule') ?? '')
      return [
        String(s.privileged === true),
        ((s.allowedCapabilities ?? []) as string[]).join(','),
        rule('seLinux'),
        rule('runAsUser'),
        rule('fsGroup'),
        rule('supplementalGroups'),
        String(s.readOnlyRootFilesystem === true),
        ((s.volumes ?? []) as string[]).join(',')
      ]
    }
    default:
      return [age(o)]
  }
}

// ---------------------------------------------------------------------------------------------
// kubectl, emulated through the API
// ---------------------------------------------------------------------------------------------

class Aborted extends Error {
  override name = 'Aborted'
}

/** One kubectl invocation failed (its error already printed). */
class KubectlFailed extends Error {
  override name = 'KubectlFailed'
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>(resolve => {
    if (signal.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })

interface Subject {
  namespace: string
  serviceAccount: string
}

interface GetOptions {
  namespace?: string
  allNamespaces?: boolean
  labelSelector?: string
}

class Kubectl {
  private discovery: Discovery | undefined
  /** Warnings printed by the current invocation (kubectl deduplicates them). */
  private warned = new Set<string>()
  /** The current invocation's stderr goes to /dev/null. */
  private quiet = false
  private admin: boolean | undefined
  private readonly sar = new Map<string, boolean>()

  /** In-cluster kubectl's default namespace: the pod's own. */
  readonly defaultNamespace: string

  constructor(
    readonly api: KubeApi,
    readonly out: Output,
    readonly signal: AbortSignal,
    private readonly subject?: Subject
  ) {
    this.defaultNamespace = subject?.namespace ?? 'default'
  }

  /** Start a kubectl invocation (warning dedup; `quiet` = `2>/dev/null`). */
  begin(quiet = false): void {
    this.check()
    this.warned = new Set()
    this.quiet = quiet
  }

  check(): void {
    if (this.signal.aborted) throw new Aborted('aborted')
  }

  err(text: string): void {
    if (!this.quiet) this.out.line(text)
  }

  apiError(e: unknown): void {
    if (e instanceof KubeApiError) {
      const body = e.body as { message?: string } | undefined
      this.err(`Error from server (${e.reason || 'InternalError'}): ${body?.message ?? e.message}`)
    } else {
      this.err(`error: ${(e as Error).message}`)
    }
  }

  warn(r: ApiResource): void {
    const d = DEPRECATIONS[`${gvOf(r)}/${r.name}`]
    const msg = d && (this.discovery?.minor ?? 0) >= d.fromMinor ? d.message : undefined
    if (msg && !this.warned.has(msg)) {
      this.warned.add(msg)
      this.err(`Warning: ${msg}`)
    }
  }

  get user(): string {
    return this.subject
      ? `system:serviceaccount:${this.subject.namespace}:${this.subject.serviceAccount}`
      : 'system:admin'
  }

  /** SubjectAccessReview for the pod's ServiceAccount (cluster-admin is checked once). */
  async can(verb: string, r: ApiResource, namespace?: string): Promise<boolean> {
    if (!this.subject) return true
    const review = async (attrs: Record<string, string>): Promise<boolean> => {
      const res = await this.api.create<KubeObject & { status?: { allowed?: boolean } }>(
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: this.user,
            groups: [
              'system:serviceaccounts',
              `system:serviceaccounts:${this.subject?.namespace}`,
              'system:authenticated'
            ],
            resourceAttributes: attrs
          }
        }
      )
      return res.status?.allowed === true
    }
    this.admin ??= await review({ verb: '*', group: '*', resource: '*' })
    if (this.admin) return true
    const key = `${verb}/${r.group}/${r.name}/${namespace ?? ''}`
    let ok = this.sar.get(key)
    if (ok === undefined) {
      ok = await review({
        verb,
        group: r.group,
        resource: r.name,
        ...(namespace ? { namespace } : {})
      })
      this.sar.set(key, ok)
    }
    return ok
  }

  async authorize(verb: string, r: ApiResource, namespace?: string, name?: string): Promise<void> {
    if (await this.can(verb, r, namespace)) return
    const what = name ? `${resourceName(r)} "${name}"` : resourceName(r)
    const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'
    this.err(
      `Error from server (Forbidden): ${what} is forbidden: User "${this.user}" cannot ${verb} resource "${r.name}" in API group "${r.group}" ${scope}`
    )
    throw new KubectlFailed('forbidden')
  }

  async discover(fresh = false): Promise<Discovery> {
    if (fresh || !this.discovery) this.discovery = await discover(this.api)
    return this.discovery
  }

  /** `kubectl api-resources --namespaced=<n> --verbs=delete -o name` (always fresh). */
  async apiResources(namespaced: boolean): Promise<string[]> {
    this.check()
    const d = await this.discover(true)
    for (const f of d.failed)
      this.out.line(
        `error: unable to retrieve the complete list of server APIs: ${f.gv}: ${f.message}`
      )
    return d.resources
      .filter(r => r.namespaced === namespaced && r.verbs.includes('delete'))
      .map(resourceName)
  }

  /** Resolve one type argument as kubectl does (plural, singular, kind or short name[.group]). */
  async resolve(arg: string): Promise<ApiResource | undefined> {
    const d = await this.discover()
    const find = (res: ApiResource[]) => {
      const dot = arg.indexOf('.')
      const word = (dot < 0 ? arg : arg.slice(0, dot)).toLowerCase()
      const group = dot < 0 ? undefined : arg.slice(dot + 1)
      const ok = (r: ApiResource) =>
        r.name === word ||
        r.singularName === word ||
        r.kind.toLowerCase() === word ||
        r.shortNames.includes(word)
      // An exact `plural.group` (e.g. customresourcedefinitions.apiextensions.k8s.io) first.
      const exact = res.find(r => resourceName(r) === arg)
      if (exact) return exact
      if (group !== undefined) return res.find(r => r.group === group && ok(r))
      return res.find(r => r.group === '' && ok(r)) ?? res.find(ok)
    }
    let r = find(d.resources)
    if (!r) r = find((await this.discover(true)).resources)
    return r
  }

  async resolveOrFail(arg: string): Promise<ApiResource> {
    const r = await this.resolve(arg)
    if (!r) {
      // kubectl names the resource part of the argument (before the first dot).
      this.err(`error: the server doesn't have a resource type "${arg.split('.')[0]}"`)
      throw new KubectlFailed(arg)
    }
    return r
  }

  path(r: ApiResource, namespace?: string, name?: string, sub?: string): string {
    return kpath(gvOf(r), r.name, r.namespaced ? namespace : undefined, name, sub)
  }

  async list(r: ApiResource, opts: GetOptions = {}): Promise<Obj[]> {
    this.check()
    const ns =
      r.namespaced && !opts.allNamespaces ? (opts.namespace ?? this.defaultNamespace) : undefined
    await this.authorize('list', r, ns)
    this.warn(r)
    try {
      const list = await this.api.list<Obj>(
        this.path(r, ns),
        opts.labelSelector ? { labelSelector: opts.labelSelector } : {}
      )
      return list.items.map(o => ({ ...o, kind: o.kind ?? r.kind, apiVersion: gvOf(r) }))
    } catch (e) {
      this.apiError(e)
      throw new KubectlFailed('list')
    }
  }

  /** GET one object; undefined when absent (the NotFound error printed unless ignoreNotFound). */
  async getOne(
    r: ApiResource,
    name: string,
    namespace: string | undefined,
    ignoreNotFound = false
  ): Promise<Obj | undefined> {
    this.check()
    const ns = r.namespaced ? (namespace ?? this.defaultNamespace) : undefined
    await this.authorize('get', r, ns, name)
    this.warn(r)
    try {
      const o = await this.api.get<Obj>(this.path(r, ns, name))
      return { ...o, kind: o.kind ?? r.kind, apiVersion: gvOf(r) }
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) {
        if (!ignoreNotFound)
          this.err(`Error from server (NotFound): ${resourceName(r)} "${name}" not found`)
        return undefined
      }
      this.apiError(e)
      throw new KubectlFailed('get')
    }
  }

  /**
   * `kubectl get <types> [names]` in the human-readable form: one table per type (NAME prefixed
   * with `kind.group/` when several types are asked for), a blank line between tables.
   */
  async getTable(
    typesArg: string,
    names: string[],
    opts: GetOptions & { ignoreNotFound?: boolean; noHeaders?: boolean } = {}
  ): Promise<string[]> {
    const types = typesArg.split(',')
    const resources: ApiResource[] = []
    for (const t of types) resources.push(await this.resolveOrFail(t))
    const multi = resources.length > 1
    const out: string[] = []
    let any = false
    for (const r of resources) {
      let items: Obj[]
      if (names.length > 0) {
        items = []
        for (const n of names) {
          const o = await this.getOne(r, n, opts.namespace, opts.ignoreNotFound)
          if (o) items.push(o)
        }
      } else {
        items = await this.list(r, opts)
      }
      if (items.length === 0) continue
      const withNs = r.namespaced && opts.allNamespaces === true
      const header = [...(withNs ? ['NAMESPACE'] : []), 'NAME', ...columnsOf(r)]
      const rows = items.map(o => [
        ...(withNs ? [o.metadata.namespace ?? ''] : []),
        multi ? `${kindGroup(r)}/${o.metadata.name}` : (o.metadata.name ?? ''),
        ...cellsOf(r, o)
      ])
      if (any) out.push('')
      out.push(...tabwrite(opts.noHeaders ? rows : [header, ...rows]))
      any = true
    }
    if (!any && !opts.ignoreNotFound && names.length === 0) {
      const nsScoped = resources.every(r => r.namespaced) && !opts.allNamespaces
      this.err(
        nsScoped
          ? `No resources found in ${opts.namespace ?? this.defaultNamespace} namespace.`
          : 'No resources found'
      )
    }
    return out
  }

  /** `kubectl get <types> -o name` lines (`kind.group/name`). */
  async getNames(typesArg: string, opts: GetOptions = {}): Promise<string[]> {
    const out: string[] = []
    for (const t of typesArg.split(',')) {
      const r = await this.resolveOrFail(t)
      for (const o of await this.list(r, opts)) out.push(`${kindGroup(r)}/${o.metadata.name}`)
    }
    return out
  }

  /**
   * `kubectl get <types> [-A|-n ns] --no-headers -o custom-columns=NAME:.metadata.name,
   * NAMESPACE:.metadata.namespace,KIND:.kind,APIVERSION:.apiVersion`: one table for all types.
   */
  async getCustomColumns(typesArg: string, opts: GetOptions): Promise<string[][]> {
    const rows: string[][] = []
    for (const t of typesArg.split(',')) {
      const r = await this.resolveOrFail(t)
      for (const o of await this.list(r, opts))
        rows.push([
          o.metadata.name ?? '<none>',
          o.metadata.namespace ?? '<none>',
          o.kind ?? r.kind,
          o.apiVersion ?? gvOf(r)
        ])
    }
    return rows
  }

  /**
   * kubectl delete --ignore-not-found=true --grace-period=G --timeout=Ts <args>: deletes, prints
   * `kind.group "name" deleted`, then waits for each to be gone. Returns the exit code.
   */
  async delete(args: string[], graceSeconds: number, timeoutSeconds: number): Promise<number> {
    let namespace: string | undefined
    let all = false
    const positional: string[] = []
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? ''
      if (a === '-n' || a === '--namespace') namespace = args[++i]
      else if (a.startsWith('--namespace=')) namespace = a.slice('--namespace='.length)
      else if (a === '--all') all = true
      else positional.push(a)
    }
    const targets: { r: ApiResource; name: string; ns?: string }[] = []
    try {
      if (positional.length > 0 && positional.every(p => p.includes('/'))) {
        for (const p of positional) {
          const slash = p.indexOf('/')
          const r = await this.resolveOrFail(p.slice(0, slash))
          targets.push({ r, name: p.slice(slash + 1), ns: namespace })
        }
      } else if (positional.length > 0) {
        const [typesArg = '', ...names] = positional
        const resources: ApiResource[] = []
        for (const t of typesArg.split(',')) resources.push(await this.resolveOrFail(t))
        if (all) {
          for (const r of resources)
            for (const o of await this.list(r, { namespace }))
              targets.push({ r, name: o.metadata.name ?? '', ns: namespace })
        } else if (names.length === 0) {
          this.err(
            'error: resource(s) were provided, but no name was specified. Use --all to delete all resources of a type'
          )
          return 1
        } else {
          for (const r of resources)
            for (const n of names) targets.push({ r, name: n, ns: namespace })
        }
      } else {
        this.err('error: You must provide one or more resources by argument or filename.')
        return 1
      }
    } catch (e) {
      if (e instanceof KubectlFailed) return 1
      throw e
    }

    let code = 0
    const deleted: { r: ApiResource; name: string; ns?: string; uid?: string }[] = []
    for (const t of targets) {
      this.check()
      const ns = t.r.namespaced ? (t.ns ?? this.defaultNamespace) : undefined
      try {
        await this.authorize('delete', t.r, ns, t.name)
      } catch (e) {
        if (e instanceof KubectlFailed) {
          code = 1
          continue
        }
        throw e
      }
      this.warn(t.r)
      try {
        const current = await this.api.tryGet<Obj>(this.path(t.r, ns, t.name))
        if (!current) continue // --ignore-not-found
        const existed = await this.api.delete(this.path(t.r, ns, t.name), {
          gracePeriodSeconds: graceSeconds,
          propagationPolicy: 'Background'
        })
        if (!existed) continue
        this.out.line(`${kindGroup(t.r)} "${t.name}" deleted`)
        deleted.push({ ...t, ns, uid: current.metadata.uid })
      } catch (e) {
        this.apiError(e)
        code = 1
      }
    }
    // kubectl delete --wait (the default): until each object (by UID) is gone.
    const deadline = Date.now() + timeoutSeconds * 1000
    for (const t of deleted) {
      for (;;) {
        this.check()
        const o = await this.api.tryGet<Obj>(this.path(t.r, t.ns, t.name))
        if (!o || o.metadata.uid !== t.uid) break
        if (Date.now() >= deadline) {
          this.err(`error: timed out waiting for the condition on ${t.r.name}/${t.name}`)
          code = 1
          break
        }
        await sleep(Math.min(200, Math.max(1, deadline - Date.now())), this.signal)
      }
    }
    return code
  }
}

// ---------------------------------------------------------------------------------------------
// The shell: xtrace and the scripts' functions
// ---------------------------------------------------------------------------------------------

class Shell {
  /** `set -x` is on. */
  xtrace = false

  constructor(
    readonly k: Kubectl,
    readonly timeouts: { delete: number }
  ) {}

  get out(): Output {
    return this.k.out
  }

  /** xtrace line: `+ cmd args` (`++` inside a command substitution). */
  x(depth: number, ...words: string[]): void {
    if (!this.xtrace) return
    const assignment = words.length === 1 ? /^([A-Za-z_]\w*)=([\s\S]*)$/.exec(words[0] ?? '') : null
    const text = assignment
      ? `${assignment[1]}=${assignment[2] ? shellQuote(assignment[2]) : ''}`
      : words.map(shellQuote).join(' ')
    this.out.line(`${'+'.repeat(depth)} ${text}`)
  }

  echo(text: string, depth = 1): void {
    this.x(depth, 'echo', text)
    this.out.line(text)
  }

  /** Run one emulated kubectl invocation; a failure it already printed returns false. */
  async kubectl(fn: () => Promise<void>, quiet = false): Promise<boolean> {
    this.k.begin(quiet)
    try {
      await fn()
      return true
    } catch (e) {
      if (e instanceof KubectlFailed) return false
      throw e
    } finally {
      this.k.begin(false)
    }
  }

  /** The `kcd` function: up to 4 tries of `timeout 21 sh -c 'kubectl delete … <arg>'`. */
  async kcd(arg: string): Promise<void> {
    this.x(1, 'kcd', arg)
    const t = this.timeouts.delete
    let i = 0
    this.x(1, 'i=0')
    for (;;) {
      this.x(1, '[', String(i), '-lt', '4', ']')
      if (i >= 4) return
      const script = `kubectl delete --ignore-not-found=true --grace-period=15 --timeout=${t}s ${arg}`
      this.x(1, 'timeout', String(t + 1), 'sh', '-c', script)
      if ((await this.shC(script, t)) === 0) {
        this.x(1, 'break')
        return
      }
      i++
      this.x(1, `i=${i}`)
    }
  }

  /**
   * `sh -c '<script>'`: the first line is the kubectl delete; a kcd argument with several names
   * on separate lines makes the following lines commands of their own (which do not exist).
   */
  private async shC(script: string, timeoutSeconds: number): Promise<number> {
    const [first = '', ...rest] = script.split('\n')
    const words = first.split(/\s+/).filter(w => w !== '')
    const args = words
      .slice(1)
      .filter(
        w =>
          !w.startsWith('--ignore-not-found') &&
          !w.startsWith('--grace-period') &&
          !w.startsWith('--timeout')
      )
    this.k.begin()
    let code: number
    try {
      code = await this.k.delete(args.slice(1), 15, timeoutSeconds)
    } finally {
      this.k.begin()
    }
    rest.forEach((line, j) => {
      const cmd = line.trim().split(/\s+/)[0] ?? ''
      if (cmd === '') return
      this.out.line(
        `sh: line ${j + 2}: ${cmd}: ${cmd.includes('/') ? 'No such file or directory' : 'command not found'}`
      )
      code = 127
    })
    return code
  }

  /** Type, name and namespace of kcpf's arguments (`-n ns Kind.group name`, `type name`, `type/name`). */
  private async target(args: string[]): Promise<{ r: ApiResource; name: string; ns?: string }> {
    let ns: string | undefined
    const pos: string[] = []
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '-n') ns = args[++i]
      else pos.push(args[i] ?? '')
    }
    let type: string
    let name: string
    if (pos.length === 1 && pos[0]?.includes('/')) {
      const p = pos[0]
      type = p.slice(0, p.indexOf('/'))
      name = p.slice(p.indexOf('/') + 1)
    } else {
      type = pos[0] ?? ''
      name = pos[1] ?? ''
    }
    const r = await this.k.resolveOrFail(type)
    return { r, name, ns }
  }

  /** The `kcpf` function: patch metadata.finalizers to null when there are any. */
  async kcpf(args: string[]): Promise<void> {
    this.x(1, 'kcpf', ...args)
    this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.metadata.finalizers}', ...args)
    let target: { r: ApiResource; name: string; ns?: string } | undefined
    let obj: Obj | undefined
    await this.kubectl(async () => {
      const t = await this.target(args)
      target = t
      obj = await this.k.getOne(t.r, t.name, t.ns)
    })
    const finalizers = obj?.metadata.finalizers ?? []
    const text = finalizers.length > 0 ? JSON.stringify(finalizers) : ''
    this.x(1, `FINALIZERS=${text}`)
    this.x(1, '[', `x${text}`, '!=', 'x', ']')
    if (!text || !target || !obj) return
    this.echo(`Finalizers before for ${args.join(' ')}: ${text}`)
    this.x(1, 'kubectl', 'patch', '-p', '{"metadata":{"finalizers":null}}', '--type=merge', ...args)
    const t = target
    await this.kubectl(async () => {
      const ns = t.r.namespaced ? (t.ns ?? this.k.defaultNamespace) : undefined
      await this.k.authorize('patch', t.r, ns, t.name)
      this.k.warn(t.r)
      try {
        await this.k.api.patch(this.k.path(t.r, ns, t.name), { metadata: { finalizers: null } })
        this.out.line(`${kindGroup(t.r)}/${t.name} patched`)
      } catch (e) {
        this.k.apiError(e)
      }
    })
    // Upstream passes "${*}" (one word) here: kubectl reads it as one (bogus) argument.
    const joined = args.join(' ')
    this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.metadata.finalizers}', joined)
    let after = ''
    if (args.length === 1) {
      await this.kubectl(async () => {
        const again = await this.k.getOne(t.r, t.name, t.ns)
        const f = again?.metadata.finalizers ?? []
        after = f.length > 0 ? JSON.stringify(f) : ''
      })
    } else if (joined.startsWith('-')) {
      this.out.lines([
        'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.',
        '',
        'error: Required resource not specified.',
        'Use "kubectl explain <resource>" for a detailed description of that resource (e.g. kubectl explain pods).',
        "See 'kubectl get -h' for help and examples"
      ])
    } else {
      this.out.line(`error: the server doesn't have a resource type "${joined}"`)
    }
    this.echo(`Finalizers after for ${joined}: ${after}`)
  }

  /** The `kcdns` function: clear the namespace's finalizers, then delete it (4 tries). */
  async kcdns(ns: string): Promise<void> {
    this.x(1, 'kcdns', ns)
    this.x(1, 'kubectl', 'get', 'namespace', ns)
    let exists = false
    await this.kubectl(async () => {
      const lines = await this.k.getTable('namespace', [ns])
      this.out.lines(lines)
      exists = lines.length > 0
    })
    if (!exists) return
    await this.kcpf(['namespace', ns])
    this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.spec.finalizers}', 'namespace', ns)
    const nsRes = await this.k.resolveOrFail('namespace')
    let current: Obj | undefined
    await this.kubectl(async () => {
      current = await this.k.getOne(nsRes, ns, undefined)
    })
    const specFinalizers = (dig(current, 'spec', 'finalizers') ?? []) as string[]
    const text = specFinalizers.length > 0 ? JSON.stringify(specFinalizers) : ''
    this.x(1, `FINALIZERS=${text}`)
    this.x(1, '[', `x${text}`, '!=', 'x', ']')
    if (text && current) {
      this.echo(`Finalizers before for namespace ${ns}: ${text}`)
      this.x(1, 'kubectl', 'get', '-o', 'json', 'namespace', ns)
      this.x(1, 'tr', '-d', '\\n')
      this.x(1, 'sed', 's/"finalizers": \\[[^]]\\+\\]/"finalizers": []/')
      this.x(1, 'kubectl', 'replace', '--raw', `/api/v1/namespaces/${ns}/finalize`, '-f', '-')
      const body = stripFinalizers(current)
      await this.kubectl(async () => {
        try {
          const res = await this.k.api.replace(
            kpath('v1', 'namespaces', undefined, ns, 'finalize'),
            body
          )
          this.out.write(JSON.stringify(res))
          this.out.line()
        } catch (e) {
          this.k.apiError(e)
        }
      })
      this.x(2, 'kubectl', 'get', '-o', 'jsonpath={.spec.finalizers}', 'namespace', ns)
      let after = ''
      await this.kubectl(async () => {
        const o = await this.k.getOne(nsRes, ns, undefined)
        const f = (dig(o, 'spec', 'finalizers') ?? []) as string[]
        after = f.length > 0 ? JSON.stringify(f) : ''
      })
      this.echo(`Finalizers after for namespace ${ns}: ${after}`)
    }
    const t = this.timeouts.delete
    let i = 0
    this.x(1, 'i=0')
    for (;;) {
      this.x(1, '[', String(i), '-lt', '4', ']')
      if (i >= 4) return
      const script = `kubectl delete --ignore-not-found=true --grace-period=15 --timeout=${t}s namespace ${ns}`
      this.x(1, 'timeout', String(t + 1), 'sh', '-c', script)
      if ((await this.shC(script, t)) === 0) {
        this.x(1, 'break')
        return
      }
      i++
      this.x(1, `i=${i}`)
    }
  }

  /** `++ printapiversion <apiVersion>` and its trace; returns the group. */
  printapiversion(apiVersion: string): string {
    this.x(2, 'printapiversion', apiVersion)
    this.x(2, 'echo', apiVersion)
    this.x(2, 'grep', '-q', '/')
    if (apiVersion.includes('/')) {
      this.x(2, 'echo', apiVersion)
      this.x(2, 'cut', '-d/', '-f1')
      return apiVersion.split('/')[0] ?? ''
    }
    this.x(2, 'echo', '')
    return ''
  }

  /** `$(kubectl api-resources --namespaced=<n> --verbs=delete -o name | <filters> | tr | sed)`. */
  async typeList(namespaced: boolean, filters: [string, RegExp, boolean][]): Promise<string> {
    this.x(
      2,
      'kubectl',
      'api-resources',
      `--namespaced=${namespaced}`,
      '--verbs=delete',
      '-o',
      'name'
    )
    let names: string[] = []
    await this.kubectl(async () => {
      names = await this.k.apiResources(namespaced)
    })
    for (const [text, re, invert] of filters) {
      this.x(2, 'grep', ...(invert ? ['-v'] : []), text)
      names = names.filter(n => re.test(n) !== invert)
    }
    this.x(2, 'tr', '\\n', ',')
    this.x(2, 'sed', '-e', 's/,$//')
    return names.join(',')
  }

  /**
   * `kubectl get "<types>" <scope> --no-headers -o custom-columns=… | while read -r NAME
   * NAMESPACE KIND APIVERSION; do kcpf …; kcd …; done`, with an optional grep on each row.
   */
  async traverse(types: string, scope: GetOptions, grep?: [string, RegExp]): Promise<void> {
    const scopeArgs = scope.allNamespaces ? ['-A'] : ['-n', scope.namespace ?? 'default']
    this.x(1, 'kubectl', 'get', types, ...scopeArgs, '--no-headers', '-o', CUSTOM_COLUMNS)
    if (grep) this.x(1, 'grep', grep[0])
    let rows: string[][] = []
    await this.kubectl(async () => {
      rows = await this.k.getCustomColumns(types, scope)
    })
    const lines = tabwrite(rows)
    const picked = rows.filter((_, i) => !grep || grep[1].test(lines[i] ?? ''))
    for (const [name = '', ns = '', kind = '', apiVersion = ''] of picked) {
      this.x(1, 'read', '-r', 'NAME', 'NAMESPACE', 'KIND', 'APIVERSION')
      const g1 = this.printapiversion(apiVersion)
      await this.kcpf(['-n', ns, `${kind}.${g1}`, name])
      const g2 = this.printapiversion(apiVersion)
      await this.kcd(`-n ${ns} ${kind}.${g2} ${name}`)
    }
    this.x(1, 'read', '-r', 'NAME', 'NAMESPACE', 'KIND', 'APIVERSION')
  }

  /** `kubectl get "<types>" -A --no-headers -o name | while read -r NAME; do kcpf; kcd; done`. */
  async traverseClusterScoped(types: string): Promise<void> {
    this.x(1, 'kubectl', 'get', types, '-A', '--no-headers', '-o', 'name')
    let names: string[] = []
    await this.kubectl(async () => {
      names = await this.k.getNames(types, { allNamespaces: true })
    })
    for (const n of names) {
      this.x(1, 'read', '-r', 'NAME')
      await this.kcpf([n])
      await this.kcd(n)
    }
    this.x(1, 'read', '-r', 'NAME')
  }

  /** `kubectl get <what> -o name | grep <pattern>` (as words or lines). */
  async namesMatching(typesArg: string, pattern: RegExp, opts: GetOptions = {}): Promise<string[]> {
    let names: string[] = []
    await this.kubectl(async () => {
      names = await this.k.getNames(typesArg, opts)
    })
    return names.filter(n => pattern.test(n))
  }
}

const CUSTOM_COLUMNS =
  'custom-columns=NAME:.metadata.name,NAMESPACE:.metadata.namespace,KIND:.kind,APIVERSION:.apiVersion'

/** What `tr -d "\n" | sed 's/"finalizers": \[[^]]\+\]/"finalizers": []/'` does to the JSON. */
function stripFinalizers(ns: Obj): Obj {
  const copy = JSON.parse(JSON.stringify(ns)) as Obj
  if (copy.metadata.finalizers?.length) copy.metadata.finalizers = []
  const spec = copy.spec as { finalizers?: string[] } | undefined
  if (spec?.finalizers?.length) spec.finalizers = []
  return copy
}

// ---------------------------------------------------------------------------------------------
// cleanup.sh
// ---------------------------------------------------------------------------------------------

const CATTLE_NAMESPACES = [
  'local',
  'cattle-system',
  'cattle-impersonation-system',
  'cattle-global-data',
  'cattle-global-nt',
  'cattle-provisioning-capi-system',
  'cattle-turtles-system',
  'cattle-capi-system'
]
const TOOLS_NAMESPACES = [
  'istio-system',
  'cattle-resources-system',
  'cis-operator-system',
  'cattle-dashboards',
  'cattle-gatekeeper-system',
  'cattle-alerting',
  'cattle-logging',
  'cattle-pipeline',
  'cattle-prometheus',
  'rancher-operator-system',
  'cattle-monitoring-system',
  'cattle-logging-system',
  'cattle-elemental-system'
]
const FLEET_NAMESPACES = [
  'cattle-fleet-clusters-system',
  'cattle-fleet-local-system',
  'cattle-fleet-system',
  'fleet-default',
  'fleet-local',
  'fleet-system'
]
const DATACRDS = [
  'settings.management.cattle.io',
  'authconfigs.management.cattle.io',
  'features.management.cattle.io',
  'rkeaddons.management.cattle.io',
  'rkek8sserviceoptions.management.cattle.io',
  'rkek8ssystemimages.management.cattle.io',
  'catalogtemplateversions.management.cattle.io',
  'catalogtemplates.management.cattle.io',
  'rkeaddons.management.cattle.io',
  'tokens.management.cattle.io',
  'elemental.cattle.io'
]
/** The ClusterRoleBinding name patterns, in the script's order (after the norman label). */
const CRB_PATTERNS: [string, RegExp][] = [
  ['^cattle-', /^cattle-/],
  ['rancher', /rancher/],
  ['^fleet-', /^fleet-/],
  ['^gitjob', /^gitjob/],
  ['^pod-impersonation-helm-', /^pod-impersonation-helm-/],
  ['^gatekeeper', /^gatekeeper/],
  ['^cis', /^cis/],
  ['^istio', /^istio/],
  ['^elemental', /^elemental/]
]
const CR_PATTERNS: [string, RegExp][] = [
  ['^cattle-', /^cattle-/],
  ['rancher', /rancher/],
  ['^fleet', /^fleet/],
  ['^gitjob', /^gitjob/],
  ['^pod-impersonation-helm', /^pod-impersonation-helm/],
  ['^logging-', /^logging-/],
  ['^monitoring-', /^monitoring-/],
  ['^gatekeeper', /^gatekeeper/],
  ['^cis', /^cis/],
  ['^istio', /^istio/],
  ['^elemental', /^elemental/]
]
const NOT_EVENTS: [string, RegExp, boolean][] = [
  ['events.events.k8s.io', /events\.events\.k8s\.io/, true],
  ['^events$', /^events$/, true]
]

async function cleanupScript(
  k: Kubectl,
  version: string,
  args: string[],
  opts: { deleteTimeoutSeconds: number }
): Promise<number> {
  const sh = new Shell(k, { delete: opts.deleteTimeoutSeconds })
  const out = k.out
  out.line(`Running cleanup.sh version ${version}`)
  out.lines([
    '==================== WARNING ====================',
    'THIS WILL DELETE ALL RESOURCES CREATED BY RANCHER',
    'MAKE SURE YOU HAVE CREATED AND TESTED YOUR BACKUPS',
    'THIS IS A NON REVERSIBLE ACTION',
    '==================== WARNING ===================='
  ])
  // `kubectl get nodes >/dev/null 2>&1`
  const nodes = await k.resolveOrFail('nodes')
  if (!(await k.can('list', nodes))) {
    out.line(
      "'kubectl get nodes' exited non-zero, make sure environment variable KUBECONFIG is set to a working kubeconfig file"
    )
    return 1
  }
  out.line('=> Printing cluster info for confirmation')
  await clusterInfo(k)
  await sh.kubectl(async () => {
    out.lines(await nodesWide(k))
  })
  if (args[0] !== 'force') {
    out.line('Do you want to continue (y/n)?')
    // `read -r answer` on a container without stdin: EOF, empty answer.
    return 1
  }

  sh.xtrace = true
  sh.x(1, `CATTLE_NAMESPACES=${CATTLE_NAMESPACES.join(' ')}`)
  sh.x(1, `TOOLS_NAMESPACES=${TOOLS_NAMESPACES.join(' ')}`)
  sh.x(1, `FLEET_NAMESPACES=${FLEET_NAMESPACES.join(' ')}`)

  // Delete rancher install to not have anything running that (re)creates resources
  await sh.kcd('-n cattle-system deploy,ds --all')
  sh.x(
    1,
    'kubectl',
    '-n',
    'cattle-system',
    'wait',
    '--for',
    'delete',
    'pod',
    '--selector=app=rancher'
  )
  await sh.kubectl(() => waitForPodsDeleted(k, 'cattle-system', 'app=rancher', 30))
  // Delete the only resource not in cattle namespaces
  await sh.kcd('-n kube-system configmap cattle-controllers')

  // Delete any blocking webhooks from preventing requests
  const webhookSteps: [string, string, RegExp][] = [
    ['mutatingwebhookconfigurations', 'cattle.io', /cattle\.io/],
    ['validatingwebhookconfigurations', 'cattle.io', /cattle\.io/],
    ['mutatingwebhookconfigurations', 'rancher-monitoring', /rancher-monitoring/],
    ['validatingwebhookconfigurations', 'rancher-monitoring', /rancher-monitoring/],
    ['validatingwebhookconfigurations', 'gatekeeper', /gatekeeper/],
    ['mutatingwebhookconfigurations', 'istio', /istio/],
    ['validatingwebhookconfigurations', 'istio', /istio/]
  ]
  for (const [type, text, re] of webhookSteps) {
    sh.x(1, 'kubectl', 'get', type, '-o', 'name')
    sh.x(1, 'grep', '-q', text)
    if ((await sh.namesMatching(type, re)).length === 0) continue
    sh.x(2, 'kubectl', 'get', type, '-o', 'name')
    sh.x(2, 'grep', text)
    await sh.kcd((await sh.namesMatching(type, re)).join('\n'))
  }

  // Cluster api
  for (const [type, name] of [
    [
      'validatingwebhookconfiguration.admissionregistration.k8s.io',
      'validating-webhook-configuration'
    ],
    ['mutatingwebhookconfiguration.admissionregistration.k8s.io', 'mutating-webhook-configuration']
  ] as const) {
    sh.x(2, 'kubectl', 'get', `${type}/${name}`)
    let table: string[] = []
    await sh.kubectl(async () => {
      table = await k.getTable(type, [name])
    })
    sh.x(1, '[', '-n', table.join('\n'), ']')
    if (table.length > 0) await sh.kcd(`${type}/${name}`)
  }

  // ClusterRoles/ClusterRoleBindings: label cattle.io/creator=norman, then name patterns.
  for (const [type, patterns] of [
    ['clusterrolebinding', CRB_PATTERNS],
    ['clusterroles', CR_PATTERNS]
  ] as const) {
    const plural = type === 'clusterrolebinding' ? 'clusterrolebindings' : 'clusterroles'
    const groups: [string[], RegExp | undefined, string | undefined][] = [
      [['-l', 'cattle.io/creator=norman'], undefined, undefined],
      ...patterns.map(([text, re]) => [[], re, text] as [string[], RegExp, string])
    ]
    for (const [extra, re, text] of groups) {
      sh.x(
        1,
        'kubectl',
        'get',
        type,
        ...extra,
        '--no-headers',
        '-o',
        'custom-columns=NAME:.metadata.name'
      )
      if (text) sh.x(1, 'grep', text)
      let names: string[] = []
      await sh.kubectl(async () => {
        const r = await k.resolveOrFail(type)
        const items = await k.list(r, extra.length > 0 ? { labelSelector: extra[1] } : {})
        names = items.map(o => o.metadata.name ?? '')
      })
      for (const n of names.filter(n => !re || re.test(n))) {
        sh.x(1, 'read', '-r', type === 'clusterrolebinding' ? 'CRB' : 'CR')
        await sh.kcpf([plural, n])
        await sh.kcd(`${plural} ${n}`)
      }
      sh.x(1, 'read', '-r', type === 'clusterrolebinding' ? 'CRB' : 'CR')
    }
  }

  // Bulk delete data CRDs
  sh.x(1, `DATACRDS=${DATACRDS.join(' ')}`)
  for (const crd of DATACRDS) await sh.kcd(`crd ${crd}`)

  // Delete apiservice
  const apiservices: string[] = []
  for (const [filters, texts] of [
    [
      [/cattle/, /k3s\.cattle\.io/, /helm\.cattle\.io/],
      ['cattle', '-v k3s.cattle.io', '-v helm.cattle.io']
    ],
    [[/gatekeeper\.sh/], ['gatekeeper.sh']],
    [[/istio\.io/], ['istio.io']]
  ] as [RegExp[], string[]][]) {
    sh.x(2, 'kubectl', 'get', 'apiservice', '-o', 'name')
    for (const t of texts) sh.x(2, 'grep', ...t.split(' '))
    let names: string[] = []
    await sh.kubectl(async () => {
      names = await k.getNames('apiservice')
    })
    apiservices.push(
      ...names.filter(
        n => (filters[0]?.test(n) ?? false) && filters.slice(1).every(f => !f.test(n))
      )
    )
  }
  sh.x(2, 'kubectl', 'get', 'apiservice', 'elemental-operator')
  await sh.kubectl(async () => {
    const table = await k.getTable('apiservice', ['elemental-operator'])
    apiservices.push(
      ...table
        .join(' ')
        .split(/\s+/)
        .filter(w => w !== '')
    )
  })
  apiservices.push('apiservice.apiregistration.k8s.io/v1beta1.custom.metrics.k8s.io')
  for (const a of apiservices) await sh.kcd(a)

  // Pod security policies (rancher-logging, rancher-monitoring, rancher-gatekeeper, backup, istio)
  const pspSelectors: string[][] = [
    ['app.kubernetes.io/name=rancher-logging'],
    [
      'release=rancher-monitoring',
      'app=rancher-monitoring-crd-manager',
      'app=rancher-monitoring-patch-sa',
      'app.kubernetes.io/instance=rancher-monitoring'
    ],
    ['release=rancher-gatekeeper', 'app=rancher-gatekeeper-crd-manager'],
    ['app.kubernetes.io/name=rancher-backup']
  ]
  for (const [i, selectors] of pspSelectors.entries()) {
    const psps: string[] = []
    for (const sel of selectors) {
      sh.x(2, 'kubectl', 'get', 'podsecuritypolicy', '-o', 'name', '-l', sel)
      await sh.kubectl(async () => {
        psps.push(...(await k.getNames('podsecuritypolicy', { labelSelector: sel })))
      })
    }
    if (i === 0) psps.push('podsecuritypolicy.policy/rancher-logging-rke-aggregator')
    for (const p of psps) await sh.kcd(p)
  }
  for (const p of ['istio-installer', 'istio-psp', 'kiali-psp', 'psp-istio-cni'])
    await sh.kcd(`podsecuritypolicy ${p}`)

  // Get all namespaced resources and delete in loop
  // Exclude helm.cattle.io and k3s.cattle.io to not break K3S/RKE2 addons
  await sh.traverse(
    await sh.typeList(true, [
      ['cattle.io', /cattle\.io/, false],
      ['helm.cattle.io', /helm\.cattle\.io/, true],
      ['k3s.cattle.io', /k3s\.cattle\.io/, true]
    ]),
    { allNamespaces: true }
  )
  // Logging
  await sh.traverse(
    await sh.typeList(true, [['logging.banzaicloud.io', /logging\.banzaicloud\.io/, false]]),
    { allNamespaces: true }
  )
  await sh.traverse(await sh.typeList(true, NOT_EVENTS), { allNamespaces: true }, [
    'rancher-monitoring',
    /rancher-monitoring/
  ])
  // Monitoring
  await sh.traverse(
    await sh.typeList(true, [['monitoring.coreos.com', /monitoring\.coreos\.com/, false]]),
    { allNamespaces: true }
  )
  // Gatekeeper
  await sh.traverse(await sh.typeList(true, [['gatekeeper.sh', /gatekeeper\.sh/, false]]), {
    allNamespaces: true
  })
  // Cluster-api
  await sh.traverse(await sh.typeList(true, [['cluster.x-k8s.io', /cluster\.x-k8s\.io/, false]]), {
    allNamespaces: true
  })

  // Get all non-namespaced resources and delete in loop
  await sh.traverseClusterScoped(await sh.typeList(false, [['cattle.io', /cattle\.io/, false]]))
  await sh.traverseClusterScoped(
    await sh.typeList(false, [['logging.banzaicloud.io', /logging\.banzaicloud\.io/, false]])
  )
  await sh.traverseClusterScoped(
    await sh.typeList(false, [['gatekeeper.sh', /gatekeeper\.sh/, false]])
  )

  // Delete istio certs
  sh.x(2, 'kubectl', 'get', 'ns', '--no-headers', '-o', 'custom-columns=NAME:.metadata.name')
  for (const ns of await namespaceNames(sh)) await sh.kcd(`-n ${ns} configmap istio-ca-root-cert`)

  // Delete all cattle namespaces, including project namespaces (p-),cluster (c-),cluster-fleet
  // and user (user-) namespaces
  const emptyNamespace = async (ns: string) => {
    await sh.traverse(await sh.typeList(true, NOT_EVENTS), { namespace: ns })
    await sh.kcdns(ns)
  }
  for (const ns of [...TOOLS_NAMESPACES, ...FLEET_NAMESPACES, ...CATTLE_NAMESPACES])
    await emptyNamespace(ns)
  for (const [text, re] of [
    ['^cluster-fleet', /^cluster-fleet/],
    ['^p-', /^p-/],
    ['^c-', /^c-/],
    ['^user-', /^user-/],
    ['^u-', /^u-/]
  ] as const) {
    sh.x(
      2,
      'kubectl',
      'get',
      'namespace',
      '--no-headers',
      '-o',
      'custom-columns=NAME:.metadata.name'
    )
    sh.x(2, 'grep', text)
    for (const ns of (await namespaceNames(sh)).filter(n => re.test(n))) await emptyNamespace(ns)
  }

  // Delete logging, monitoring, OPA, Istio, cluster-api CRDs, then all cattle CRDs
  // (exclude helm.cattle.io and addons.k3s.cattle.io to not break RKE2 addons)
  for (const [texts, keep] of [
    [['logging.banzaicloud.io'], (n: string) => /logging\.banzaicloud\.io/.test(n)],
    [['monitoring.coreos.com'], (n: string) => /monitoring\.coreos\.com/.test(n)],
    [['gatekeeper.sh'], (n: string) => /gatekeeper\.sh/.test(n)],
    [['istio.io'], (n: string) => /istio\.io/.test(n)],
    [['cluster.x-k8s.io'], (n: string) => /cluster\.x-k8s\.io/.test(n)],
    [
      ['cattle.io', '-v helm.cattle.io', '-v k3s.cattle.io'],
      (n: string) =>
        /cattle\.io/.test(n) && !/helm\.cattle\.io/.test(n) && !/k3s\.cattle\.io/.test(n)
    ]
  ] as [string[], (n: string) => boolean][]) {
    sh.x(2, 'kubectl', 'get', 'crd', '-o', 'name')
    for (const t of texts) sh.x(2, 'grep', ...t.split(' '))
    let crds: string[] = []
    await sh.kubectl(async () => {
      crds = await k.getNames('crd')
    })
    for (const crd of crds.filter(keep)) await sh.kcd(crd)
  }
  // No `exit`: the status of the last command (the loop above), which is 0.
  return 0
}

async function namespaceNames(sh: Shell): Promise<string[]> {
  let names: string[] = []
  await sh.kubectl(async () => {
    const r = await sh.k.resolveOrFail('namespace')
    names = (await sh.k.list(r)).map(o => o.metadata.name ?? '')
  })
  return names
}

/** `kubectl wait --for delete pod --selector=<sel>` (default timeout 30 s). */
async function waitForPodsDeleted(
  k: Kubectl,
  namespace: string,
  selector: string,
  timeoutSeconds: number
): Promise<void> {
  const pods = await k.resolveOrFail('pods')
  const items = await k.list(pods, { namespace, labelSelector: selector })
  const deadline = Date.now() + timeoutSeconds * 1000
  for (const p of items) {
    for (;;) {
      k.check()
      const o = await k.api.tryGet(kpath('v1', 'pods', namespace, p.metadata.name))
      if (!o || o.metadata.uid !== p.metadata.uid) {
        k.out.line(`pod/${p.metadata.name} condition met`)
        break
      }
      if (Date.now() >= deadline) {
        k.err(`error: timed out waiting for the condition on pods/${p.metadata.name}`)
        throw new KubectlFailed('wait')
      }
      await sleep(200, k.signal)
    }
  }
}

/** `kubectl cluster-info` as seen from inside a pod (in-cluster config). */
async function clusterInfo(k: Kubectl): Promise<void> {
  const svc = await k.api.tryGet<Obj>(kpath('v1', 'services', 'default', 'kubernetes'))
  const ip = String(dig(svc, 'spec', 'clusterIP') ?? '10.43.0.1')
  const port = Number(dig(svc, 'spec', 'ports', '0', 'port') ?? 443)
  const server = `https://${ip}:${port}`
  k.out.line(`Kubernetes control plane is running at ${server}`)
  const services = await k.api
    .list<Obj>(kpath('v1', 'services', 'kube-system'), {
      labelSelector: 'kubernetes.io/cluster-service=true'
    })
    .catch(() => ({ items: [] as Obj[] }))
  for (const s of services.items) {
    const name = s.metadata.labels?.['kubernetes.io/name'] ?? s.metadata.name ?? ''
    const p = (dig(s, 'spec', 'ports') ?? []) as { name?: string; port?: number }[]
    const portPart = p[0]?.name ?? String(p[0]?.port ?? '')
    const link = `${server}/api/v1/namespaces/kube-system/services/${s.metadata.name}${portPart ? `:${portPart}` : ''}/proxy`
    k.out.line(`${name} is running at ${link}`)
  }
  k.out.line('')
  k.out.line("To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
}

/** `kubectl get nodes -o wide`. */
async function nodesWide(k: Kubectl): Promise<string[]> {
  const r = await k.resolveOrFail('nodes')
  const nodes = await k.list(r)
  if (nodes.length === 0) {
    k.err('No resources found')
    return []
  }
  const rows = nodes.map(n => {
    const conds = (dig(n, 'status', 'conditions') ?? []) as { type: string; status: string }[]
    const ready = conds.find(c => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'
    const status = dig(n, 'spec', 'unschedulable') === true ? `${ready},SchedulingDisabled` : ready
    const roles = Object.keys(n.metadata.labels ?? {})
      .filter(l => l.startsWith('node-role.kubernetes.io/'))
      .map(l => l.slice('node-role.kubernetes.io/'.length))
      .sort()
      .join(',')
    const addrs = (dig(n, 'status', 'addresses') ?? []) as { type: string; address: string }[]
    const info = (dig(n, 'status', 'nodeInfo') ?? {}) as Record<string, string>
    return [
      n.metadata.name ?? '',
      status,
      roles || '<none>',
      age(n),
      info.kubeletVersion ?? '',
      addrs.find(a => a.type === 'InternalIP')?.address ?? '<none>',
      addrs.find(a => a.type === 'ExternalIP')?.address ?? '<none>',
      info.osImage ?? '',
      info.kernelVersion ?? '',
      info.containerRuntimeVersion ?? ''
    ]
  })
  return tabwrite([
    [
      'NAME',
      'STATUS',
      'ROLES',
      'AGE',
      'VERSION',
      'INTERNAL-IP',
      'EXTERNAL-IP',
      'OS-IMAGE',
      'KERNEL-VERSION',
      'CONTAINER-RUNTIME'
    ],
    ...rows
  ])
}

// ---------------------------------------------------------------------------------------------
// verify.sh
// ---------------------------------------------------------------------------------------------

async function verifyScript(k: Kubectl, version: string): Promise<void> {
  const out = k.out
  const sh = new Shell(k, { delete: 20 })
  out.line(`Running verify.sh version ${version}`)

  /** `kcg …` = `kubectl get --ignore-not-found=true …`, human-readable. */
  const kcgTable = async (
    types: string,
    names: string[],
    opts: GetOptions = {},
    grep?: (line: string) => boolean
  ) => {
    await sh.kubectl(async () => {
      const lines = await k.getTable(types, names, { ...opts, ignoreNotFound: true })
      out.lines(grep ? lines.filter(grep) : lines)
    })
  }
  /** `kcg <type> [-l sel] -o name | grep …`. */
  const kcgNames = async (type: string, grep?: RegExp, labelSelector?: string) => {
    await sh.kubectl(async () => {
      const names = await k.getNames(type, labelSelector ? { labelSelector } : {})
      out.lines(grep ? names.filter(n => grep.test(n)) : names)
    })
  }
  /** `kcg <type> --no-headers -o custom-columns=NAME:.metadata.name | grep …`. */
  const kcgNameColumn = async (type: string, grep: RegExp) => {
    await sh.kubectl(async () => {
      const r = await k.resolveOrFail(type)
      out.lines((await k.list(r)).map(o => o.metadata.name ?? '').filter(n => grep.test(n)))
    })
  }
  /** `kcg "$(api-resources … | grep …)" -A --no-headers -o custom-columns=… [| grep]`. */
  const kcgTypes = async (filter: (name: string) => boolean, quiet: boolean, grep?: RegExp) => {
    let types = ''
    await sh.kubectl(async () => {
      types = (await k.apiResources(true)).filter(filter).join(',')
    })
    await sh.kubectl(async () => {
      const rows = await k.getCustomColumns(types, { allNamespaces: true })
      const lines = tabwrite(rows)
      out.lines(grep ? lines.filter(l => grep.test(l)) : lines)
    }, quiet)
  }
  /** `kubectl api-resources --namespaced=<n> --verbs=delete -o name | grep … | tr | sed`. */
  const typeList = async (namespaced: boolean, filter: (name: string) => boolean) => {
    await sh.kubectl(async () => {
      out.write((await k.apiResources(namespaced)).filter(filter).join(','))
    })
  }

  await kcgTable('deploy,ds', [], { namespace: 'cattle-system' })
  await kcgTable('configmap', ['cattle-controllers'], { namespace: 'kube-system' })
  for (const re of [/cattle\.io/, /rancher-monitoring/, /istio/, /mutating-webhook-configuration/])
    await kcgNames('mutatingwebhookconfigurations', re)
  for (const re of [
    /cattle\.io/,
    /rancher-monitoring/,
    /gatekeeper/,
    /istio/,
    /validating-webhook-configuration/
  ])
    await kcgNames('validatingwebhookconfigurations', re)

  await sh.kubectl(async () => {
    const names = await k.getNames('apiservice')
    out.lines(
      names.filter(
        n => /cattle\.io/.test(n) && !/k3s\.cattle\.io/.test(n) && !/helm\.cattle\.io/.test(n)
      )
    )
  })
  for (const re of [/istio/, /gatekeeper/, /custom\.metrics\.k8s\.io/, /elemental/])
    await kcgNames('apiservice', re)

  await kcgTable('clusterrolebinding', [], { labelSelector: 'cattle.io/creator=norman' })
  for (const re of [
    /^cattle-/,
    /rancher/,
    /^fleet-/,
    /^gitjob/,
    /^pod-impersonation-helm/,
    /^gatekeeper/,
    /^cis/,
    /^istio/,
    /^elemental/
  ])
    await kcgNameColumn('clusterrolebinding', re)
  await kcgTable('clusterroles', [], { labelSelector: 'cattle.io/creator=norman' })
  for (const re of [
    /^cattle-/,
    /rancher/,
    /^fleet/,
    /^gitjob/,
    /^pod-impersonation-helm/,
    /^logging-/,
    /^monitoring-/,
    /^gatekeeper/,
    /^cis/,
    /^istio/,
    /^elemental/
  ])
    await kcgNameColumn('clusterroles', re)

  await kcgNames('podsecuritypolicy', undefined, 'app.kubernetes.io/name=rancher-logging')
  await kcgTable('podsecuritypolicy.policy', ['rancher-logging-rke-aggregator'])
  for (const sel of [
    'release=rancher-monitoring',
    'app=rancher-monitoring-crd-manager',
    'app=rancher-monitoring-patch-sa',
    'app.kubernetes.io/instance=rancher-monitoring',
    'release=rancher-gatekeeper',
    'app=rancher-gatekeeper-crd-manager',
    'app.kubernetes.io/name=rancher-backup'
  ])
    await kcgNames('podsecuritypolicy', undefined, sel)
  for (const re of [/istio-installer/, /istio-psp/, /kiali-psp/, /psp-istio-cni/])
    await kcgNames('podsecuritypolicy', re)

  // `kcg namespace -o name | grep "^cattle"`: the lines start with `namespace/`.
  for (const re of [
    /^cattle/,
    /rancher-operator-system/,
    /cis-operator-system/,
    /^c-/,
    /^p-/,
    /^user-/,
    /^u-/,
    /fleet/,
    /istio/,
    /elemental/
  ])
    await kcgNames('namespace', re)

  await kcgTypes(n => /logging\.banzaicloud\.io/.test(n), true)
  // `… | grep rancher-monitoring 2>/dev/null`: kubectl's own stderr is not redirected.
  await kcgTypes(
    n => !/events\.events\.k8s\.io/.test(n) && !/^events$/.test(n),
    false,
    /rancher-monitoring/
  )
  await kcgTypes(n => /monitoring\.coreos\.com/.test(n), true)
  await kcgTypes(n => /gatekeeper\.sh/.test(n), true)
  await kcgTypes(n => /cluster\.x-k8s\.io/.test(n), true)

  await typeList(false, n => /logging\.banzaicloud\.io/.test(n))
  await typeList(false, n => /gatekeeper\.sh/.test(n))

  for (const grep of [
    (l: string) =>
      /cattle\.io/.test(l) && !/helm\.cattle\.io/.test(l) && !/k3s\.cattle\.io/.test(l),
    (l: string) => /logging\.banzaicloud\.io/.test(l),
    (l: string) => /monitoring\.coreos\.com/.test(l),
    (l: string) => /gatekeeper\.sh/.test(l),
    (l: string) => /istio\.io/.test(l),
    (l: string) => /cluster\.x-k8s\.io/.test(l)
  ])
    await kcgTable('crd', [], {}, grep)

  await kcgTable('configmap', [], { allNamespaces: true }, l => /istio-ca-root-cert/.test(l))

  await typeList(
    true,
    n => /cattle\.io/.test(n) && !/helm\.cattle\.io/.test(n) && !/k3s\.cattle\.io/.test(n)
  )
  await typeList(false, n => /cattle\.io/.test(n))
}
