/** The validated, typed form of every input in action.yml. Built only by input-helper.ts. */

/** `previous` means: derive the target from Helm history (see decide/decide.ts). */
export type TargetVersion = { kind: 'previous' } | { kind: 'explicit'; version: string }

/** `latest` means: the newest backup in the folder taken before the upgrade to the current version. */
export type BackupSelector = { kind: 'latest' } | { kind: 'file'; filename: string }

export interface S3Settings {
  bucketName: string
  /** Folder inside the bucket, no leading or trailing slash; '' for the bucket root. */
  folder: string
  region: string
  /** As the backup-restore operator wants it: host[:port], no scheme. */
  endpoint: string
  /** PEM text of the endpoint CA ('' when none). The Restore gets it base64-encoded. */
  endpointCA: string
  insecureTLSSkipVerify: boolean
  credentialSecretName: string
  credentialSecretNamespace: string
  /** Optional; masked. Used to prove the backup exists and to create the Secret when missing. */
  accessKey: string
  secretKey: string
}

export interface Settings {
  targetVersion: TargetVersion
  backup: BackupSelector
  s3: S3Settings
  /** '' when the backups are not encrypted. */
  encryptionConfigSecretName: string
  /** kubeconfig file content; '' means use the runner's KUBECONFIG. Secret. */
  kubeconfig: string
  /** '' means the kubeconfig's current context. */
  context: string
  namespace: string
  releaseName: string
  rancherChartRepo: string
  backupChartRepo: string
  /** '' means: the rancher-backup chart line that matches the target Rancher minor. */
  backupChartVersion: string
  /** A semver with leading `v` (e.g. `v3.17.2`) or `latest`. */
  helmVersion: string
  kubectlVersion: string
  /** Base URLs replacing https://get.helm.sh and https://dl.k8s.io; '' for upstream. */
  helmMirror: string
  kubectlMirror: string
  dryRun: boolean
  allowDowntime: boolean
  /** Restore a backup that is not proven to be this cluster's (its name has another kube-system UID). */
  allowOtherClusterBackup: boolean
  /** Leave rancher-webhook running through the Restore (in-place, restore-only). */
  keepRancherWebhook: boolean
  prune: boolean
  /** Whole run budget. */
  timeoutMs: number
  /** Budget for one Restore to reach Ready=True/Completed. */
  restoreTimeoutMs: number
  /** rancher/rancher-cleanup image, pinned. */
  cleanupImage: string
}
