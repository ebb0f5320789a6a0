/**
 * Restore (cluster-scoped), in the real order: take the Lease `restore-controller` → encryption
 * config → download → scale the ResourceSet's controllerReferences (`cattle-system/rancher`) to
 * 0, replica counts kept in memory → CRDs (each must become Established within 60 s) →
 * cluster-scoped objects → namespaced objects (owners before dependents) → prune (default) →
 * scale back up → status: one condition Ready=True "Completed", `restoreCompletionTs`. A
 * failure writes Reconciling=False reason Error with the phase's message (e.g. "error restoring
 * CRDs, check logs for exact error") and Ready "Retrying", logs the exact error, and the Restore
 * is retried for ever with lasso's backoff. Everything is applied through the API server, so its
 * validation errors are the real ones.
 *
 * Follows rancher/backup-restore-operator pkg/controllers/restore/controller.go (OnRestoreChange,
 * setReconcilingCondition, the Lease lock) at tags v1.2.1 to v11.0.1, with the gates of
 * versions.ts (`lowercaseNoLocationError` v7.0.0, `encryptionSecretFetchLog` v7.0.0). Differs from
 * upstream: only an S3 storage location on the Restore (no operator-level default S3 or PVC).
 */
import { kpath, type KubeObject } from '../../cluster/kube-api.js'
import { Conditions, RESOURCES_V1, type GenericCondition, type RestoreObject } from './api-types.js'
import type { EncryptionTransformers } from './crypto.js'
import { Aborted, goErr, isNotFound, message } from './helpers.js'
import { rfc3339 } from './log.js'
import { prune } from './prune.js'
import { restoreCRDs } from './restore-crds.js'
import { downloadFromS3, loadFromTarGzip, type ObjectsFromBackup } from './restore-load.js'
import { restoreFromGraph } from './restore-objects.js'
import { scaleDown, scaleUp } from './restore-scale.js'
import type { EncryptionSecret, OperatorRuntime } from './runtime.js'

export const LEASE_NAME = 'restore-controller'

export async function onRestoreChange(
  op: OperatorRuntime,
  _key: string,
  restore: RestoreObject | undefined
): Promise<void> {
  if (!restore || restore.metadata.deletionTimestamp) return
  if (restore.status?.restoreCompletionTs) return
  await lock(op, restore)
  try {
    await processRestore(op, restore)
  } finally {
    await unlock(op, leaseHolder(restore)).catch(() => undefined)
  }
}

async function lock(op: OperatorRuntime, restore: RestoreObject): Promise<void> {
  const path = kpath('coordination.k8s.io/v1', 'leases', op.chartNamespace, LEASE_NAME)
  let lease: KubeObject & { spec?: { holderIdentity?: string | null } }
  try {
    lease = await op.api.get(path)
  } catch (e) {
    if (!isNotFound(e)) throw e
    await op.api.create(kpath('coordination.k8s.io/v1', 'leases', op.chartNamespace), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LEASE_NAME, namespace: op.chartNamespace },
      spec: { holderIdentity: leaseHolder(restore) }
    })
    return
  }
  if (lease.spec?.holderIdentity) {
    throw goErr(`restore ${lease.spec.holderIdentity} is in progress`)
  }
  lease.spec = { ...(lease.spec ?? {}), holderIdentity: leaseHolder(restore) }
  await op.api.replace(path, lease)
}

async function unlock(op: OperatorRuntime, id: string): Promise<void> {
  const path = kpath('coordination.k8s.io/v1', 'leases', op.chartNamespace, LEASE_NAME)
  let lease: KubeObject & { spec?: { holderIdentity?: string | null } }
  try {
    lease = await op.raw.get(path)
  } catch (e) {
    if (isNotFound(e)) return
    throw e
  }
  if (!lease.spec?.holderIdentity) return
  if (lease.spec.holderIdentity !== id) {
    throw goErr(
      `restore ${id} cannot unlock lease, current lease holder is ${lease.spec.holderIdentity}`
    )
  }
  lease.spec = { ...lease.spec, holderIdentity: null }
  await op.raw.replace(path, lease)
}

async function processRestore(op: OperatorRuntime, restore: RestoreObject): Promise<void> {
  const name = restore.metadata.name ?? ''
  const spec = restore.spec ?? {}
  op.log.info(`Processing Restore CR ${name}`)
  op.log.info(`Restoring from backup ${spec.backupFilename ?? ''}`)

  let transformers: EncryptionTransformers | undefined
  if (spec.encryptionConfigSecretName) {
    op.log.info(
      `Processing encryption config ${spec.encryptionConfigSecretName} for restore CR ${name}`
    )
    let secret: EncryptionSecret
    try {
      secret = await op.encryptionSecret(spec.encryptionConfigSecretName)
    } catch (e) {
      if (e instanceof Aborted) throw e
      op.log.error(
        op.features.encryptionSecretFetchLog
          ? `Error fetching encryption config secret: ${message(e)}`
          : `Error processing encryption config: ${message(e)}`
      )
      return setRestoreReconciling(op, restore, e)
    }
    try {
      transformers = op.encryptionTransformersFrom(secret)
    } catch (e) {
      op.log.error(`Error processing encryption config: ${message(e)}`)
      return setRestoreReconciling(op, restore, e)
    }
  }

  const s3 = spec.storageLocation?.s3
  if (!s3) {
    return setRestoreReconciling(
      op,
      restore,
      goErr(
        op.features.lowercaseNoLocationError
          ? 'backup location not specified on the restore CR, and not configured at the operator level'
          : 'Backup location not specified on the restore CR, and not configured at the operator level'
      )
    )
  }
  let objs: ObjectsFromBackup
  try {
    const file = await downloadFromS3(op, restore, s3)
    objs = loadFromTarGzip(op, file.entries, transformers)
  } catch (e) {
    if (e instanceof Aborted) throw e
    return setRestoreReconciling(op, restore, e)
  }

  await scaleDown(op, objs)
  const fail = async (phase: string, e: unknown): Promise<boolean> => {
    if (e instanceof Aborted) throw e
    await scaleUp(op, objs)
    if (spec.ignoreErrors) {
      op.log.warn(`Skipping error when restoring ${phase} ${message(e)}`)
      return false
    }
    op.log.error(`Error restoring ${phase} ${message(e)}`)
    await setRestoreReconciling(
      op,
      restore,
      goErr(`error restoring ${phase}, check logs for exact error`)
    )
    return true
  }

  const created = new Set<string>()
  let crdsWithSubStatus: string[] = []
  op.log.info(`Starting to restore CRDs for restore CR ${name}`)
  try {
    crdsWithSubStatus = await restoreCRDs(op, created, objs)
  } catch (e) {
    const stop = await fail('CRDs', e)
    if (stop) return
  }

  op.log.info(`Starting to restore clusterscoped resources for restore CR ${name}`)
  try {
    await restoreFromGraph(op, objs.clusterScoped, created, crdsWithSubStatus)
  } catch (e) {
    const stop = await fail('cluster-scoped resources', e)
    if (stop) return
  }

  op.log.info(`Starting to restore namespaced resources for restore CR ${name}`)
  try {
    await restoreFromGraph(op, objs.namespaced, created, crdsWithSubStatus)
  } catch (e) {
    const stop = await fail('namespaced resources', e)
    if (stop) return
  }

  if (spec.prune === undefined || spec.prune === null || spec.prune === true) {
    op.log.info(`Pruning resources that are not part of the backup for restore CR ${name}`)
    try {
      await prune(op, objs, spec.deleteTimeoutSeconds ?? 0)
    } catch (e) {
      if (e instanceof Aborted) throw e
      await scaleUp(op, objs)
      return setRestoreReconciling(
        op,
        restore,
        goErr(`error pruning during restore: ${message(e)}`)
      )
    }
  }
  await scaleUp(op, objs)

  try {
    await op.retryOnConflict(async () => {
      const fresh = await op.api.get<RestoreObject>(
        kpath(RESOURCES_V1, 'restores', undefined, name)
      )
      const t = rfc3339(op.now())
      const conditions: GenericCondition[] = []
      const c = new Conditions(conditions, t)
      c.setStatus('Ready', 'True')
      c.message('Ready', 'Completed')
      fresh.status = {
        ...(fresh.status ?? {}),
        conditions,
        restoreCompletionTs: t,
        observedGeneration: fresh.metadata.generation,
        backupSource: 'S3'
      }
      await op.api.replace(kpath(RESOURCES_V1, 'restores', undefined, name, 'status'), fresh)
    })
  } catch (e) {
    if (e instanceof Aborted) throw e
    return setRestoreReconciling(op, restore, e)
  }
  op.log.info('Done restoring')
}

/**
 * setReconcilingCondition of the restore controller: when the Reconciling condition already
 * says this error, return it (the queue retries with backoff); else write Reconciling=False
 * reason Error + Ready "Retrying" and return no error (the status update itself re-triggers).
 */
async function setRestoreReconciling(
  op: OperatorRuntime,
  restore: RestoreObject,
  originalErr: unknown
): Promise<void> {
  const errMsg = message(originalErr)
  const cond = restore.status?.conditions?.find(c => c.type === 'Reconciling')
  if (cond && cond.status !== 'Unknown' && cond.reason === 'Error') {
    const m = cond.message ?? ''
    if (m.includes(errMsg) || m.toLowerCase() === errMsg.toLowerCase()) {
      throw originalErr instanceof Error ? originalErr : new Error(errMsg)
    }
  }
  await op.writeReconcilingError('restores', restore.metadata.name ?? '', errMsg)
}

function leaseHolder(restore: RestoreObject): string {
  return `${restore.metadata.name ?? ''}:${restore.metadata.uid ?? ''}`
}
