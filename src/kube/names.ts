/**
 * The names of every object the action reads by name or creates, and the labels it puts on what
 * it creates. Nothing else in the code spells these out.
 */

/** Rancher's chart installs everything the backup operator needs here. */
export const BACKUP_NAMESPACE = 'cattle-resources-system'
/** The rancher-backup chart (operator) and its CRD chart, installed as releases of these names. */
export const BACKUP_CHART = 'rancher-backup'
export const BACKUP_CRD_CHART = 'rancher-backup-crd'
/** The operator's Deployment has the release's name. */
export const BACKUP_DEPLOYMENT = BACKUP_CHART
export const OPERATOR_LOG_SELECTOR = 'app.kubernetes.io/name=rancher-backup'
export const RESTORE_CRD = 'restores.resources.cattle.io'
/** The operator's own lock: one Restore at a time (BRO pkg/controllers/restore/controller.go). */
export const OPERATOR_LOCK_LEASE = 'restore-controller'

/** Rancher's chart name (the release name is an input). */
export const RANCHER_CHART = 'rancher'
export const WEBHOOK_RELEASE = 'rancher-webhook'
/** rancher-webhook's chart names its Deployment after the chart. */
export const WEBHOOK_DEPLOYMENT = WEBHOOK_RELEASE
/** The rancher chart labels its pods `app: <release name>` (templates/deployment.yaml). */
export const rancherPodSelector = (releaseName: string): string => `app=${releaseName}`
/** Installed by Rancher v2.7.7+, in its own namespace. */
export const CAPI_RELEASE = 'rancher-provisioning-capi'
export const CAPI_NAMESPACE = 'cattle-provisioning-capi-system'
/**
 * Installed by Rancher v2.13+ instead of rancher-provisioning-capi (rancher/rancher
 * pkg/namespace TurtlesNamespace; rancher/turtles charts/rancher-turtles values): the Turtles
 * controller, and core CAPI with its webhook configurations. rancher-cleanup v1.0.3 removes none
 * of them.
 */
export const TURTLES_NAMESPACE = 'cattle-turtles-system'
export const CAPI_CORE_NAMESPACE = 'cattle-capi-system'
export const CAPI_WEBHOOK_CONFIGURATIONS = {
  validatingwebhookconfiguration: 'capi-validating-webhook-configuration',
  mutatingwebhookconfiguration: 'capi-mutating-webhook-configuration'
} as const
/** `clusters.cluster.x-k8s.io`, `ipaddresses.ipam.cluster.x-k8s.io`, … */
export const isCapiCrd = (name: string): boolean => /(^|\.)cluster\.x-k8s\.io$/.test(name)

/**
 * The Secret holding Rancher's initial admin password, in the release namespace: rendered by the
 * rancher chart (from 2.6.0) or created by Rancher itself (from 2.6.3) when the chart did not.
 */
export const BOOTSTRAP_SECRET = 'bootstrap-secret'

/** What Helm requires of an existing object to adopt it (helm pkg/action/validate.go). */
export const HELM_MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'Helm' } as const
export const HELM_RELEASE_NAME = 'meta.helm.sh/release-name'
export const HELM_RELEASE_NAMESPACE = 'meta.helm.sh/release-namespace'

/** kube-system survives rancher-cleanup: the lock and the saved state live there. */
export const LOCK_NAMESPACE = 'kube-system'
export const LOCK_NAME = 'rancher-rollback'
export const SAVED_NAMESPACE = 'kube-system'
export const SAVED_NAME = 'rancher-rollback-saved'
export const SAVED = `${SAVED_NAMESPACE}/${SAVED_NAME}`

/** rancher/rancher-cleanup's deploy/*.yaml: fixed names, in kube-system. */
export const CLEANUP_NAMESPACE = 'kube-system'
export const CLEANUP_SERVICE_ACCOUNT = 'cleanup-service-account'
export const CLEANUP_BINDING = 'cleanup-admin'
export const CLEANUP_JOBS = { cleanup: 'cleanup-job', verify: 'verify-job' } as const
export type CleanupMode = keyof typeof CLEANUP_JOBS

/** On everything the action creates. */
export const MANAGED_BY_LABELS = { 'app.kubernetes.io/managed-by': 'rancher-rollback' } as const

/** Label values allow [A-Za-z0-9._-]: `2.8.5-rc1+b` → `2.8.5-rc1-b`. */
export const labelValue = (version: string): string => version.replace(/[^\w.-]/g, '-')

/** On a Restore: which move it belongs to, for the person who finds it. */
export function restoreLabels(from: string, to: string): Record<string, string> {
  return {
    ...MANAGED_BY_LABELS,
    'rancher-rollback/from-version': labelValue(from),
    'rancher-rollback/to-version': labelValue(to)
  }
}

const MAX_NAME = 63

/** `2.8.5` → `2-8-5` */
function dashed(version: string): string {
  return version.replace(/[^a-z0-9]+/gi, '-').toLowerCase()
}

export function stamp(now: Date): string {
  // 2026-11-24T08:00:00.000Z → 20261124t080000
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .replace(/[-:]/g, '')
    .toLowerCase()
}

/**
 * What every Restore this action makes for a move starts with: how a re-run recognises the Restore
 * an earlier run completed.
 */
export function restorePrefix(from: string, to: string): string {
  return `rollback-${dashed(from)}-to-${dashed(to)}-`
}

/**
 * `rollback-2-8-5-to-2-8-4-20261124t080000`: a DNS-1123 label (≤ 63), restorePrefix() plus a
 * timestamp; only versions too long to fit are shortened.
 */
export function restoreName(now: Date, fromVersion: string, toVersion: string): string {
  const tail = `-${stamp(now)}`
  let from = dashed(fromVersion)
  let to = dashed(toVersion)
  const fixed = 'rollback-'.length + '-to-'.length + tail.length
  if (fixed + from.length + to.length > MAX_NAME) {
    const each = Math.floor((MAX_NAME - fixed) / 2)
    from = from.slice(0, each)
    to = to.slice(0, each)
  }
  // Starts with a letter and ends with a digit; inner dashes (even doubled) are valid DNS-1123.
  return `rollback-${from}-to-${to}${tail}`
}
