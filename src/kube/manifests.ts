/**
 * Kubernetes objects the action creates, as plain objects. The caller serialises them to JSON and
 * pipes them to `kubectl apply|create|replace -f -` (stdin only: never argv, never a file).
 */
import type { S3Settings } from '../inputs/settings.js'
import {
  CLEANUP_BINDING,
  CLEANUP_JOBS,
  CLEANUP_NAMESPACE,
  CLEANUP_SERVICE_ACCOUNT,
  LOCK_NAME,
  LOCK_NAMESPACE,
  MANAGED_BY_LABELS,
  type CleanupMode
} from './names.js'

export interface ObjectMeta {
  name: string
  namespace?: string
  labels?: Record<string, string>
  resourceVersion?: string
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
}

// ---- Restore (resources.cattle.io/v1, cluster-scoped) --------------------------------------

export interface RestoreS3Location {
  bucketName: string
  endpoint: string
  folder?: string
  region?: string
  /** Base64 of the PEM. */
  endpointCA?: string
  insecureTLSSkipVerify?: boolean
  credentialSecretName?: string
  credentialSecretNamespace?: string
}

export interface RestoreObject extends KubeObject {
  spec: {
    backupFilename: string
    prune: boolean
    storageLocation: { s3: RestoreS3Location }
    encryptionConfigSecretName?: string
  }
}

export interface RestoreManifestInput {
  name: string
  backupFilename: string
  s3: S3Settings
  prune: boolean
  /** '' when the backups are not encrypted. */
  encryptionConfigSecretName: string
  labels?: Record<string, string>
}

/** The S3 location as the backup-restore operator wants it. Access keys never appear here. */
export function restoreS3Location(s3: S3Settings): RestoreS3Location {
  const location: RestoreS3Location = { bucketName: s3.bucketName, endpoint: s3.endpoint }
  if (s3.folder !== '') location.folder = s3.folder
  if (s3.region !== '') location.region = s3.region
  if (s3.endpointCA.trim() !== '')
    location.endpointCA = Buffer.from(s3.endpointCA, 'utf8').toString('base64')
  if (s3.insecureTLSSkipVerify) location.insecureTLSSkipVerify = true
  if (s3.credentialSecretName !== '') location.credentialSecretName = s3.credentialSecretName
  if (s3.credentialSecretNamespace !== '')
    location.credentialSecretNamespace = s3.credentialSecretNamespace
  return location
}

export function restoreManifest(input: RestoreManifestInput): RestoreObject {
  const spec: RestoreObject['spec'] = {
    backupFilename: input.backupFilename,
    prune: input.prune,
    storageLocation: { s3: restoreS3Location(input.s3) }
  }
  if (input.encryptionConfigSecretName !== '')
    spec.encryptionConfigSecretName = input.encryptionConfigSecretName
  return {
    apiVersion: 'resources.cattle.io/v1',
    kind: 'Restore',
    metadata: { name: input.name, labels: { ...MANAGED_BY_LABELS, ...(input.labels ?? {}) } },
    spec
  }
}

// ---- S3 credential Secret ---------------------------------------------------------------------

export interface SecretObject extends KubeObject {
  type: 'Opaque'
  stringData: Record<string, string>
}

/** The Secret the operator reads S3 keys from (keys `accessKey`, `secretKey`). Stdin only. */
export function s3CredentialSecretManifest(
  name: string,
  namespace: string,
  accessKey: string,
  secretKey: string
): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { ...MANAGED_BY_LABELS } },
    type: 'Opaque',
    stringData: { accessKey, secretKey }
  }
}

// ---- rancher-cleanup Jobs (mirrors rancher/rancher-cleanup deploy/*.yaml) ------------------

export interface KubeList {
  apiVersion: 'v1'
  kind: 'List'
  items: Array<KubeObject & Record<string, unknown>>
}

/**
 * ServiceAccount + ClusterRoleBinding (cluster-admin) + the Job, as in the upstream
 * deploy/rancher-cleanup.yaml (`cleanup`: args ["force"], backoffLimit 4) and deploy/verify.yaml
 * (`verify`: command ["verify.sh"], backoffLimit 0). Differences: the image is pinned by the
 * caller, pulled IfNotPresent (works with pre-loaded images on air-gapped clusters), and pods
 * are scheduled on linux/amd64 nodes only (the image is amd64-only).
 */
export function cleanupJobManifests(image: string, mode: CleanupMode): KubeList {
  const ns = CLEANUP_NAMESPACE
  const serviceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: CLEANUP_SERVICE_ACCOUNT, namespace: ns, labels: { ...MANAGED_BY_LABELS } }
  }
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: CLEANUP_BINDING, labels: { ...MANAGED_BY_LABELS } },
    subjects: [{ kind: 'ServiceAccount', name: CLEANUP_SERVICE_ACCOUNT, namespace: ns }],
    roleRef: { kind: 'ClusterRole', name: 'cluster-admin', apiGroup: 'rbac.authorization.k8s.io' }
  }
  const container: Record<string, unknown> =
    mode === 'cleanup'
      ? { name: 'cleanup', image, args: ['force'], imagePullPolicy: 'IfNotPresent' }
      : { name: 'verify', image, command: ['verify.sh'], imagePullPolicy: 'IfNotPresent' }
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: CLEANUP_JOBS[mode],
      namespace: ns,
      labels: { app: mode, ...MANAGED_BY_LABELS }
    },
    spec: {
      backoffLimit: mode === 'cleanup' ? 4 : 0,
      template: {
        metadata: { labels: { app: mode } },
        spec: {
          containers: [container],
          serviceAccountName: CLEANUP_SERVICE_ACCOUNT,
          restartPolicy: 'Never',
          nodeSelector: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/os': 'linux' }
        }
      }
    }
  }
  return { apiVersion: 'v1', kind: 'List', items: [serviceAccount, binding, job] }
}

// ---- Lease (the cluster-side lock) -----------------------------------------------------------

export interface LeaseObject extends KubeObject {
  spec: {
    holderIdentity: string
    leaseDurationSeconds: number
    acquireTime: string
    renewTime: string
  }
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits, UTC. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export function leaseManifest(input: {
  holder: string
  durationSeconds: number
  now: Date
  /** When this holder first took it (a renewal keeps it); default `now`. */
  acquiredAt?: Date
  /** Set to replace (take over, renew) an existing Lease read at this version. */
  resourceVersion?: string
}): LeaseObject {
  const metadata: ObjectMeta = {
    name: LOCK_NAME,
    namespace: LOCK_NAMESPACE,
    labels: { ...MANAGED_BY_LABELS }
  }
  if (input.resourceVersion !== undefined && input.resourceVersion !== '') {
    metadata.resourceVersion = input.resourceVersion
  }
  const time = microTime(input.now)
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata,
    spec: {
      holderIdentity: input.holder,
      leaseDurationSeconds: Math.max(1, Math.ceil(input.durationSeconds)),
      acquireTime: input.acquiredAt ? microTime(input.acquiredAt) : time,
      renewTime: time
    }
  }
}
