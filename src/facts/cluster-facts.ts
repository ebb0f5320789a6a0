/** What the action learned from the cluster (and S3) before deciding. Plain data, read-only. */

export interface HelmRevision {
  revision: number
  updated: string
  /** superseded | deployed | failed | pending-install | pending-upgrade | pending-rollback | … */
  status: string
  /** e.g. `rancher-2.8.5` */
  chart: string
  /** Rancher version without a leading `v` (normalised), e.g. `2.8.5`; '' when unknown. */
  appVersion: string
  description: string
}

export interface ReleaseFacts {
  exists: boolean
  /** Newest revision first is NOT assumed: sorted ascending by revision. */
  history: HelmRevision[]
}

export interface RancherDeploymentFacts {
  exists: boolean
  /** Full image reference of container 0, e.g. `rancher/rancher:v2.8.5`. */
  image: string
  /** Tag without `v`, '' when not a version. */
  imageVersion: string
  replicas: number
  readyReplicas: number
}

export interface BackupOperatorFacts {
  /** Helm release `rancher-backup` in `cattle-resources-system`. */
  releaseExists: boolean
  /** CRD restores.resources.cattle.io present. */
  restoreCrdExists: boolean
  /** Deployment `rancher-backup` has all replicas ready. */
  deploymentReady: boolean
}

export interface CapiFacts {
  /** Every version some cluster.x-k8s.io CRD stores (status.storedVersions); [] when none exist. */
  storedVersions: string[]
  /** The same, per CRD, for the reasons shown. */
  storedVersionsByCrd: Record<string, string[]>
  provisioningNamespaceExists: boolean
  provisioningReleaseExists: boolean
  /** Which of cattle-turtles-system and cattle-capi-system (Rancher v2.13+) exist. */
  turtlesNamespaces: string[]
}

export interface RestoreCondition {
  type: string
  status: string
  reason: string
  message: string
  lastUpdateTime: string
}

export interface RestoreFacts {
  name: string
  /** metadata.labels: this action's Restores carry restoreLabels(from, to). */
  labels: Record<string, string>
  backupFilename: string
  conditions: RestoreCondition[]
  /** Ready=True with message Completed (restoreCompletionTs set). */
  completed: boolean
  /** Not completed: the operator may still be working on it or retrying an error. */
  inProgress: boolean
}

export interface SecretPresence {
  namespace: string
  name: string
  exists: boolean
}

export interface BackupObjectFacts {
  /** false when neither inputs nor the credential Secret gave us S3 credentials. */
  checked: boolean
  /** The chosen file name (given, or picked for `latest`); '' when none. */
  filename: string
  exists: boolean
  /** Why it was (not) found or chosen, for the summary. */
  note: string
}

/**
 * What an interrupted cleanup-and-reinstall left in Secret kube-system/rancher-rollback-saved
 * (the non-secret record only; the saved values and Secrets stay in the cluster until used).
 */
export interface InterruptedRollback {
  from: string
  to: string
  backupFilename: string
  release: string
  namespace: string
  savedAt: string
  holder: string
}

export interface ClusterFacts {
  release: ReleaseFacts
  deployment: RancherDeploymentFacts
  backupOperator: BackupOperatorFacts
  capi: CapiFacts
  webhookReleaseExists: boolean
  webhookChartVersion: string
  restores: RestoreFacts[]
  s3CredentialSecret: SecretPresence
  /** Only when `encryption-config-secret-name` is set; in `cattle-resources-system`. */
  encryptionSecret: SecretPresence | undefined
  backup: BackupObjectFacts
  /** Set when an earlier run saved state and deleted Rancher, and did not finish. */
  interrupted: InterruptedRollback | undefined
  /** Downstream RKE1 clusters (clusters.management.cattle.io with an RKE config). */
  rke1Clusters: string[]
  /** UID of the kube-system Namespace: backup file names carry it, and it survives cleanup. */
  clusterUid: string
  /** Server version, e.g. `v1.20.2`. */
  kubernetesVersion: string
}
