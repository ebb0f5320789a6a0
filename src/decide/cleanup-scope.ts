/**
 * Which namespaces rancher/rancher-cleanup (`cleanup.sh`) deletes. Anything the rollback needs
 * after cleanup (the S3 credential Secret above all) must live outside them.
 *
 * Source: rancher/rancher-cleanup v1.0.3 cleanup.sh (CATTLE_NAMESPACES, which gained
 * cattle-provisioning-capi-system in v1.0.3, TOOLS_NAMESPACES, FLEET_NAMESPACES: l.103-105; then
 * every namespace starting with cluster-fleet, p-, c-, user-, u-: l.378-421), plus, to stay on
 * the safe side, any fleet-* / cattle-fleet-* namespace. Plus the Rancher v2.13+ namespaces
 * v1.0.3 does not know and this action deletes right after it (steps/remove-turtles.ts).
 */
import { CAPI_CORE_NAMESPACE, TURTLES_NAMESPACE } from '../kube/names.js'

export interface CleanupNamespacePattern {
  /** Exact name, or a prefix ending in `*`. */
  pattern: string
  /** What lives there, for the README and the job summary. */
  note: string
}

export const CLEANUP_DELETED_NAMESPACES: readonly CleanupNamespacePattern[] = [
  { pattern: 'cattle-system', note: 'Rancher, rancher-webhook and their Helm release secrets' },
  {
    pattern: 'cattle-resources-system',
    note: 'the backup operator and its encryption-config Secret'
  },
  { pattern: 'cattle-provisioning-capi-system', note: 'rancher-provisioning-capi (v2.7.7+)' },
  {
    pattern: TURTLES_NAMESPACE,
    note: 'Rancher Turtles (v2.13+), deleted by this action after rancher-cleanup'
  },
  {
    pattern: CAPI_CORE_NAMESPACE,
    note: 'core Cluster API under Turtles (v2.13+), deleted by this action after rancher-cleanup'
  },
  { pattern: 'cattle-impersonation-system', note: 'impersonation service accounts' },
  { pattern: 'local', note: 'the local cluster object' },
  { pattern: 'cattle-global-data', note: 'global Rancher data (cloud credentials, …)' },
  { pattern: 'cattle-global-nt', note: 'node templates' },
  { pattern: 'fleet-default', note: 'Fleet workspace' },
  { pattern: 'fleet-local', note: 'Fleet workspace of the local cluster' },
  { pattern: 'fleet-system', note: 'Fleet (older releases)' },
  { pattern: 'fleet-*', note: 'other Fleet namespaces' },
  { pattern: 'cattle-fleet-system', note: 'Fleet controller' },
  { pattern: 'cattle-fleet-local-system', note: 'Fleet agent of the local cluster' },
  { pattern: 'cattle-fleet-clusters-system', note: 'Fleet cluster registrations' },
  { pattern: 'cattle-fleet-*', note: 'other Fleet namespaces' },
  { pattern: 'cluster-fleet*', note: 'Fleet per-cluster namespaces' },
  { pattern: 'p-*', note: 'project namespaces' },
  { pattern: 'c-*', note: 'cluster namespaces' },
  { pattern: 'u-*', note: 'user namespaces' },
  { pattern: 'user-*', note: 'user namespaces' },
  { pattern: 'cattle-monitoring-system', note: 'rancher-monitoring' },
  { pattern: 'cattle-logging-system', note: 'rancher-logging' },
  { pattern: 'cattle-gatekeeper-system', note: 'rancher-gatekeeper' },
  { pattern: 'cattle-dashboards', note: 'monitoring dashboards' },
  { pattern: 'cattle-elemental-system', note: 'Elemental' },
  { pattern: 'cis-operator-system', note: 'CIS benchmark operator' },
  { pattern: 'istio-system', note: 'rancher-istio' },
  { pattern: 'rancher-operator-system', note: 'rancher-operator (v2.5)' },
  { pattern: 'cattle-alerting', note: 'legacy alerting (v2.0-v2.4)' },
  { pattern: 'cattle-logging', note: 'legacy logging (v2.0-v2.4)' },
  { pattern: 'cattle-pipeline', note: 'legacy pipelines (v2.0-v2.4)' },
  { pattern: 'cattle-prometheus', note: 'legacy monitoring (v2.0-v2.4)' }
]

function matches(pattern: string, namespace: string): boolean {
  return pattern.endsWith('*') ? namespace.startsWith(pattern.slice(0, -1)) : namespace === pattern
}

/** True when running rancher-cleanup deletes the namespace (and so every Secret in it). */
export function isDeletedByCleanup(namespace: string): boolean {
  const ns = namespace.trim()
  if (ns === '') return false
  return CLEANUP_DELETED_NAMESPACES.some(p => matches(p.pattern, ns))
}

/** The deleted namespaces as one line, e.g. for a refusal or the job summary. */
export function describeCleanupScope(): string {
  return CLEANUP_DELETED_NAMESPACES.map(p => p.pattern).join(', ')
}
