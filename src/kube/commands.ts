/**
 * Every kubectl and helm command the action runs, built as data. Plans print these and steps run
 * them, so what a dry run shows is exactly what a real run executes.
 */
import type { Command } from './command-runner.js'
import {
  BACKUP_NAMESPACE,
  OPERATOR_LOCK_LEASE,
  HELM_MANAGED_BY,
  HELM_RELEASE_NAME,
  HELM_RELEASE_NAMESPACE,
  LOCK_NAME,
  LOCK_NAMESPACE,
  OPERATOR_LOG_SELECTOR,
  RESTORE_CRD,
  SAVED_NAME,
  SAVED_NAMESPACE
} from './names.js'

/** Per-request timeout for reads: a hung API server fails the call instead of the run. */
const READ_TIMEOUT_MS = 60_000
const REQUEST_TIMEOUT = '--request-timeout=30s'

export type HelmMajor = 3 | 4

const seconds = (ms: number): string => `${Math.max(1, Math.ceil(ms / 1000))}s`

function kubectl(mutating: boolean, args: string[], extra: Partial<Command> = {}): Command {
  return {
    tool: 'kubectl',
    args: [...args, REQUEST_TIMEOUT],
    timeoutMs: READ_TIMEOUT_MS,
    mutating,
    ...extra
  }
}

export const kubectlRead = (args: string[], extra?: Partial<Command>) => kubectl(false, args, extra)
export const kubectlWrite = (args: string[], extra?: Partial<Command>) => kubectl(true, args, extra)

function helmRead(args: string[], extra: Partial<Command> = {}): Command {
  return { tool: 'helm', args, timeoutMs: READ_TIMEOUT_MS, mutating: false, ...extra }
}

/** An API request's own limit, as kubectl's `--request-timeout=30s`. */
const API_TIMEOUT_MS = 30_000

/** `?timeout=` is the API server's own limit for the request, as kubectl's `--request-timeout` sets it. */
export function api(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  extra: Partial<Command> = {}
): Command {
  const timeoutMs = extra.timeoutMs ?? API_TIMEOUT_MS
  return {
    tool: 'api',
    args: [method, `${path}?timeout=${seconds(timeoutMs)}`],
    mutating: method !== 'GET',
    ...extra,
    timeoutMs
  }
}

/** REST paths (the API's own URL scheme: `/apis/<group>/<version>/[namespaces/<ns>/]<plural>`). */
const core = (namespace: string | undefined, plural: string, name = ''): string =>
  `/api/v1${namespace ? `/namespaces/${namespace}` : ''}/${plural}${name ? `/${name}` : ''}`
export const group = (
  gv: string,
  namespace: string | undefined,
  plural: string,
  name = ''
): string =>
  `/apis/${gv}${namespace ? `/namespaces/${namespace}` : ''}/${plural}${name ? `/${name}` : ''}`
const LEASES = 'coordination.k8s.io/v1'
export const RESOURCES = 'resources.cattle.io/v1'

/**
 * Helm 4 turned `--wait` into a strategy; `watcher` (kstatus) is its default and the closest to
 * Helm 3's readiness wait. Helm 3 rejects `--wait=watcher`, Helm 4 accepts bare `--wait` only
 * by a default that could change, so each major gets its own spelling.
 */
export function helmWaitFlags(major: HelmMajor, timeoutMs: number): string[] {
  return [major >= 4 ? '--wait=watcher' : '--wait', '--timeout', seconds(timeoutMs)]
}

/** A mutating helm call is never retried: a repeat after a half-applied change can do harm. */
function helmWrite(args: string[], timeoutMs: number): Command {
  // Helm's own --timeout ends its wait; the process deadline leaves a margin for it to report.
  return { tool: 'helm', args, timeoutMs: timeoutMs + 60_000, mutating: true, retry: 'never' }
}

// ---- reads -------------------------------------------------------------------------------

export const kubeServerVersion = (): Command => api('GET', '/version')

export const helmHistory = (release: string, namespace: string): Command =>
  helmRead(['history', release, '-n', namespace, '-o', 'json', '--max', '256'], {
    allowFailure: true
  })

/**
 * One call gives every release we care about (backup operator, webhook, provisioning-capi).
 * Explicit status filters rather than `--all`, which Helm 4 removed.
 */
export const helmListAll = (): Command =>
  helmRead(['list', '-A', '--deployed', '--failed', '--pending', '-o', 'json'])

export const getDeployment = (namespace: string, name: string): Command =>
  api('GET', group('apps/v1', namespace, 'deployments', name), { notFoundEmpty: true })

/** Every CRD, for its name and status.storedVersions. */
export const listCrdStoredVersions = (): Command =>
  api('GET', group('apiextensions.k8s.io/v1', undefined, 'customresourcedefinitions'))

export const listNamespaceNames = (): Command =>
  kubectlRead(['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}'])

/** Backups are named after the kube-system UID, which survives rancher-cleanup. */
export const clusterUid = (): Command =>
  api('GET', core(undefined, 'namespaces', 'kube-system'), { metadataOnly: true })

/** The scale subresource, as `kubectl scale` sets it: only the replica count changes. */
export const scaleDeployment = (namespace: string, name: string, replicas: number): Command =>
  api('PATCH', `${group('apps/v1', namespace, 'deployments', name)}/scale`, {
    stdin: JSON.stringify({ spec: { replicas } }),
    about: `replicas: ${replicas}`
  })

/** The downstream clusters (those Rancher provisions with RKE1 carry an RKE config). */
export const listManagementClusters = (): Command =>
  api('GET', group('management.cattle.io/v3', undefined, 'clusters'), { allowFailure: true })

/** The namespace's metadata, or nothing when it does not exist. */
export const getNamespace = (name: string): Command =>
  api('GET', core(undefined, 'namespaces', name), { notFoundEmpty: true, metadataOnly: true })

export const listRestores = (): Command =>
  api('GET', group(RESOURCES, undefined, 'restores'), { allowFailure: true })

export const getRestore = (name: string): Command =>
  api('GET', group(RESOURCES, undefined, 'restores', name))

export const createRestore = (about: string, manifest: string): Command =>
  api('POST', group(RESOURCES, undefined, 'restores'), { stdin: manifest, about })

/** Presence only: metadata, so the data never leaves the API server. */
export const secretExists = (namespace: string, name: string): Command =>
  api('GET', core(namespace, 'secrets', name), {
    notFoundEmpty: true,
    metadataOnly: true,
    // Metadata still holds annotations, and `kubectl apply` copies a Secret into one.
    secretOutput: true
  })

/** Full Secret, data included: the output is secret. */
export const readSecret = (namespace: string, name: string): Command =>
  api('GET', core(namespace, 'secrets', name), { notFoundEmpty: true, secretOutput: true })

export const readSaved = (): Command => readSecret(SAVED_NAMESPACE, SAVED_NAME)

/** In a jsonpath a dot separates fields, so a key's own dots are escaped: `app\.kubernetes\.io/managed-by`. */
const jsonpathKey = (key: string): string => key.replace(/\./g, '\\.')

/**
 * An object's name and Helm ownership metadata, tab-separated (nothing when it does not exist):
 * only these fields, never a Secret's data or an annotation that could copy it.
 */
export const helmOwnership = (kind: string, name: string, namespace: string): Command =>
  kubectlRead([
    'get',
    kind,
    name,
    '-n',
    namespace,
    '--ignore-not-found',
    '-o',
    `jsonpath={.metadata.name}{"\\t"}{.metadata.labels.${jsonpathKey(HELM_MANAGED_BY.key)}}{"\\t"}{.metadata.annotations.${jsonpathKey(HELM_RELEASE_NAME)}}{"\\t"}{.metadata.annotations.${jsonpathKey(HELM_RELEASE_NAMESPACE)}}`
  ])

const LEASE_PATH = group(LEASES, LOCK_NAMESPACE, 'leases', LOCK_NAME)

export const getLease = (): Command => api('GET', LEASE_PATH, { notFoundEmpty: true })

/** Atomic: two runs creating it at once cannot both succeed. */
export const createLease = (about: string): Command =>
  api('POST', group(LEASES, LOCK_NAMESPACE, 'leases'), { stdin: '', about })

/** Optimistic concurrency: the manifest carries the resourceVersion it was read at. */
export const replaceLease = (about: string): Command => api('PUT', LEASE_PATH, { stdin: '', about })

/** Gone already is fine: a lock is given back once. */
export const deleteLease = (): Command => api('DELETE', LEASE_PATH, { notFoundEmpty: true })

/**
 * The lock's renewal, in the background: quick or not at all. A renewal that fails is not retried
 * (the next one is a few seconds away, and a retry would only arrive later than it).
 */
const RENEWAL = { timeoutMs: 10_000, retry: 'never' } as const

export const getLeaseForRenewal = (): Command =>
  api('GET', LEASE_PATH, { notFoundEmpty: true, ...RENEWAL })

export const renewLease = (about: string): Command =>
  api('PUT', LEASE_PATH, { stdin: '', about, ...RENEWAL })

/** User-supplied values: these hold the bootstrap password, so the output is secret. */
export const helmGetValues = (release: string, namespace: string): Command =>
  helmRead(['get', 'values', release, '-n', namespace, '-o', 'yaml'], { secretOutput: true })

/** The rendered manifests of a release (revision: the current one); they may hold Secrets. */
export const helmGetManifest = (release: string, namespace: string, revision?: number): Command =>
  helmRead(
    [
      'get',
      'manifest',
      release,
      '-n',
      namespace,
      ...(revision === undefined ? [] : ['--revision', String(revision)])
    ],
    { secretOutput: true }
  )

/** Resolves a chart version range to one exact version without touching the user's repo list. */
export const helmShowChart = (repo: string, chart: string, version: string): Command =>
  helmRead(['show', 'chart', chart, '--repo', repo, '--version', version], { timeoutMs: 120_000 })

const OPERATOR_LOCK_PATH = group(LEASES, BACKUP_NAMESPACE, 'leases', OPERATOR_LOCK_LEASE)

export const getOperatorLock = (): Command =>
  api('GET', OPERATOR_LOCK_PATH, { notFoundEmpty: true })

/** At the resourceVersion read: a Lease the operator changed since is left to it. */
export const replaceOperatorLock = (about: string): Command =>
  api('PUT', OPERATOR_LOCK_PATH, { stdin: '', about })

export const operatorLogs = (lines: number): Command =>
  kubectlRead(
    ['logs', '-n', BACKUP_NAMESPACE, '-l', OPERATOR_LOG_SELECTOR, `--tail=${lines}`, '--prefix'],
    { allowFailure: true }
  )

export const jobLogs = (namespace: string, job: string): Command =>
  kubectlRead(['logs', `job/${job}`, '-n', namespace, '--tail=-1'], { allowFailure: true })

// ---- waits (watches with a deadline) --------------------------------------------------------

export const waitCommand = (args: string[], timeoutMs: number): Command => ({
  tool: 'kubectl',
  args: [...args, `--timeout=${seconds(timeoutMs)}`],
  timeoutMs: timeoutMs + 30_000,
  mutating: false,
  allowFailure: true
})

export const waitRestoreReady = (name: string, timeoutMs: number): Command =>
  waitCommand(['wait', `${RESTORE_CRD}/${name}`, '--for=condition=Ready=True'], timeoutMs)

/** Ends at once when no pod matches: nothing left to wait for. */
export const waitPodsDeleted = (namespace: string, selector: string, timeoutMs: number): Command =>
  waitCommand(['wait', 'pod', '-l', selector, '-n', namespace, '--for=delete'], timeoutMs)

/** For an object someone else (Rancher) creates: a watch until it exists (kubectl >= 1.31). */
export const waitCreated = (namespace: string, object: string, timeoutMs: number): Command =>
  waitCommand(['wait', object, '-n', namespace, '--for=create'], timeoutMs)

/** Ends at once when the lock is released (or was never there). */
export const waitLeaseDeleted = (timeoutMs: number): Command =>
  waitCommand(['wait', `lease/${LOCK_NAME}`, '-n', LOCK_NAMESPACE, '--for=delete'], timeoutMs)

export const waitJobComplete = (namespace: string, job: string, timeoutMs: number): Command =>
  waitCommand(['wait', `job/${job}`, '-n', namespace, '--for=condition=Complete'], timeoutMs)

export const rolloutStatus = (namespace: string, name: string, timeoutMs: number): Command => ({
  tool: 'kubectl',
  args: [
    'rollout',
    'status',
    `deployment/${name}`,
    '-n',
    namespace,
    `--timeout=${seconds(timeoutMs)}`
  ],
  timeoutMs: timeoutMs + 30_000,
  mutating: false
})

// ---- writes --------------------------------------------------------------------------------

/*
 * Manifests go on stdin, never argv. `about` names what they hold for the plan; a manifest only
 * known at run time (a Lease's times) is planned as '' and filled in by the step.
 */

/** Creates exactly the objects on stdin; fails on AlreadyExists (the caller decides). */
export const createFromStdin = (about: string, manifest: string): Command =>
  kubectlWrite(['create', '-f', '-'], { stdin: manifest, about })

export const applyFromStdin = (about: string, manifest: string): Command =>
  kubectlWrite(['apply', '-f', '-'], { stdin: manifest, about })

/** Optimistic concurrency: the manifest carries the resourceVersion it was read at. */
export const replaceFromStdin = (about: string, manifest: string): Command =>
  kubectlWrite(['replace', '-f', '-'], { stdin: manifest, about })

/** Gives an existing object the ownership metadata Helm requires to adopt it into `release`. */
export const adoptIntoRelease = (
  kind: string,
  name: string,
  namespace: string,
  release: string
): Command =>
  kubectlWrite([
    'patch',
    kind,
    name,
    '-n',
    namespace,
    '--type=merge',
    '-p',
    JSON.stringify({
      metadata: {
        labels: { [HELM_MANAGED_BY.key]: HELM_MANAGED_BY.value },
        annotations: { [HELM_RELEASE_NAME]: release, [HELM_RELEASE_NAMESPACE]: namespace }
      }
    })
  ])

/** Waits until the namespaces and everything in them are gone, up to the limit. */
export const deleteNamespaces = (names: readonly string[], timeoutMs: number): Command =>
  kubectlWrite(
    [
      'delete',
      'namespace',
      ...names,
      '--ignore-not-found',
      '--wait=true',
      `--timeout=${seconds(timeoutMs)}`
    ],
    { timeoutMs: timeoutMs + 30_000 }
  )

export const deleteObject = (kind: string, name: string, namespace?: string): Command =>
  kubectlWrite(
    [
      'delete',
      kind,
      name,
      ...(namespace ? ['-n', namespace] : []),
      '--ignore-not-found',
      '--wait=true'
    ],
    { timeoutMs: 120_000 }
  )

/**
 * Unlike an upgrade, a rollback may be repeated after the API server dropped it half-way: Helm
 * rolls back from any release status (pkg/action/rollback.go, 3.17.2 and 4.1.4, checks none), and
 * a second `helm rollback` to the same revision applies the same manifest again. An API server
 * restart while Helm reads or applies the objects ends it at once (seen on the testbed with 3.17.2:
 * `could not get information about the resource: … connection refused`).
 */
export const helmRollback = (
  major: HelmMajor,
  release: string,
  namespace: string,
  revision: number,
  timeoutMs: number
): Command => ({
  ...helmWrite(
    ['rollback', release, String(revision), '-n', namespace, ...helmWaitFlags(major, timeoutMs)],
    timeoutMs
  ),
  retry: 'transient'
})

/** Waits until the release's objects are gone, so nothing it served answers any more. */
export const helmUninstall = (
  major: HelmMajor,
  release: string,
  namespace: string,
  timeoutMs: number
): Command =>
  helmWrite(['uninstall', release, '-n', namespace, ...helmWaitFlags(major, timeoutMs)], timeoutMs)

export interface ChartInstall {
  release: string
  namespace: string
  chart: string
  repo: string
  version: string
  valuesFile?: string
  /** Pre-release versions are only found with --devel. */
  devel?: boolean
}

/**
 * `upgrade --install` so that a re-run after a failed install continues instead of failing on
 * "cannot re-use a name that is still in use".
 */
export const helmUpgradeInstall = (major: HelmMajor, c: ChartInstall, timeoutMs: number): Command =>
  helmWrite(
    [
      'upgrade',
      '--install',
      c.release,
      c.chart,
      '--repo',
      c.repo,
      '--version',
      c.version,
      '-n',
      c.namespace,
      '--create-namespace',
      ...(c.valuesFile ? ['-f', c.valuesFile] : []),
      ...(c.devel ? ['--devel'] : []),
      ...helmWaitFlags(major, timeoutMs)
    ],
    timeoutMs
  )
