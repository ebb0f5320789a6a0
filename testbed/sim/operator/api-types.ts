/**
 * The operator's API (resources.cattle.io/v1) and its status conditions: the fields of
 * rancher/backup-restore-operator pkg/apis/resources.cattle.io/v1 (backup.go, restore.go) that the
 * sim reads or writes, the same at tags v1.2.1 to v11.0.1; the Conditions helper has wrangler's
 * pkg/condition semantics (as read at wrangler 8238115; the wrangler each BRO tag vendors is not
 * checked against it). Fields the sim ignores (e.g. `schedule`, `retentionCount`, `bucketLookupType`)
 * are left out.
 */
import type { KubeObject } from '../../cluster/kube-api.js'

export const RESOURCES_V1 = 'resources.cattle.io/v1'

export interface S3ObjectStore {
  endpoint?: string
  bucketName?: string
  folder?: string
  region?: string
  endpointCA?: string
  insecureTLSSkipVerify?: boolean
  credentialSecretName?: string
  credentialSecretNamespace?: string
}

export interface GenericCondition {
  type: string
  status: string
  lastUpdateTime?: string
  lastTransitionTime?: string
  reason?: string
  message?: string
}

export interface BackupObject extends KubeObject {
  spec?: {
    resourceSetName?: string
    encryptionConfigSecretName?: string
    schedule?: string
    retentionCount?: number
    storageLocation?: { s3?: S3ObjectStore } | null
  }
  status?: {
    conditions?: GenericCondition[]
    filename?: string
    lastSnapshotTs?: string
    nextSnapshotAt?: string
    observedGeneration?: number
    storageLocation?: string
    backupType?: string
    [k: string]: unknown
  }
}

export interface RestoreObject extends KubeObject {
  spec?: {
    backupFilename?: string
    storageLocation?: { s3?: S3ObjectStore } | null
    prune?: boolean | null
    deleteTimeoutSeconds?: number
    encryptionConfigSecretName?: string
    ignoreErrors?: boolean
  }
  status?: {
    conditions?: GenericCondition[]
    restoreCompletionTs?: string
    observedGeneration?: number
    backupSource?: string
    [k: string]: unknown
  }
}

// Condition helpers with wrangler's semantics (pkg/condition): a condition created on demand
// starts as Unknown; a changed status or message stamps lastUpdateTime; reason does not.
export class Conditions {
  constructor(
    private readonly list: GenericCondition[],
    private readonly now: string
  ) {}

  private findOrCreate(type: string): GenericCondition {
    let c = this.list.find(x => x.type === type)
    if (!c) {
      c = { type, status: 'Unknown' }
      this.list.push(c)
    }
    return c
  }

  setStatus(type: string, status: string): void {
    const c = this.findOrCreate(type)
    if (c.status !== status) {
      c.status = status
      c.lastUpdateTime = this.now
    }
  }

  message(type: string, msg: string): void {
    const c = this.findOrCreate(type)
    if ((c.message ?? '') !== msg) {
      c.message = msg
      c.lastUpdateTime = this.now
    }
    if (c.message === '') delete c.message
  }

  reason(type: string, reason: string): void {
    const c = this.findOrCreate(type)
    c.reason = reason
    if (c.reason === '') delete c.reason
  }

  setError(type: string, err: string): void {
    this.setStatus(type, 'False')
    this.message(type, err)
    this.reason(type, 'Error')
  }
}
