/**
 * Backup (resources.cattle.io/v1, cluster-scoped): the objects the Backup's ResourceSet selects
 * (real ResourceSet semantics, see resources.ts) go into
 * `<folder>/<backup>-<kube-system namespace UID>-<YYYY-MM-DDTHH-MM-SSZ>.tar.gz[.enc]`; status
 * `filename`, `lastSnapshotTs`, `backupType`, `storageLocation`, conditions Ready=True
 * "Completed" and Uploaded=True. Follows rancher/backup-restore-operator
 * pkg/controllers/backup/controller.go and upload.go, and pkg/objectstore/s3minio.go
 * UploadBackupFile, at tags v1.2.1 to v11.0.1 (upload texts per versions.ts
 * `s3ErrorsNameBucket`, v2.1.2).
 *
 * Differs from upstream: one-time backups to S3 only; recurring backups (`schedule`), retention,
 * PVC storage and the operator-level default location are not simulated.
 */
import { kpath } from '../../cluster/kube-api.js'
import { goJson, walkOrder, writeTarGz } from './archive.js'
import { Conditions, RESOURCES_V1, type BackupObject, type GenericCondition } from './api-types.js'
import type { EncryptionTransformers } from './crypto.js'
import { Aborted, goErr, message, rec, type Obj } from './helpers.js'
import { rfc3339 } from './log.js'
import { ResourceGatherer, typeDir, type ResourceSet } from './resources.js'
import type { OperatorRuntime } from './runtime.js'
import { putObject } from './s3.js'

export async function onBackupChange(
  op: OperatorRuntime,
  _key: string,
  backup: BackupObject | undefined
): Promise<void> {
  if (!backup || backup.metadata.deletionTimestamp) return
  const name = backup.metadata.name ?? ''
  op.log.info(`Processing backup ${name}`)
  const spec = backup.spec ?? {}
  const status = backup.status ?? {}
  if (status.lastSnapshotTs) {
    if (!spec.schedule) {
      op.log.info(`Backup CR ${name} has been processed for one-time backup, returning`)
      if (
        backup.metadata.generation !== status.observedGeneration ||
        status.backupType !== 'One-time'
      ) {
        await op.api.replace(kpath(RESOURCES_V1, 'backups', undefined, name, 'status'), {
          ...backup,
          status: {
            ...status,
            observedGeneration: backup.metadata.generation,
            backupType: 'One-time'
          }
        })
      }
      return
    }
    // Recurring backups (spec.schedule) are not simulated beyond the first snapshot.
    return
  }
  const ts = rfc3339(op.now()).replace(/:/g, '-')
  const fileBase = `${name}-${op.kubeSystemUid}-${ts}`
  op.log.info(`For backup CR ${name}, filename: ${fileBase}`)
  const tmp = `/tmp/${fileBase}${Math.floor(Math.random() * 1e9)}`
  op.log.info(`Temporary backup path for storing all contents for backup CR ${name} is ${tmp}`)
  let filename: string
  try {
    filename = await performBackup(op, backup, fileBase)
  } catch (e) {
    if (e instanceof Aborted) throw e
    await setBackupReconciling(op, backup, e)
    return
  }
  await op
    .retryOnConflict(async () => {
      const fresh = await op.api.get<BackupObject>(kpath(RESOURCES_V1, 'backups', undefined, name))
      const t = rfc3339(op.now())
      const conditions: GenericCondition[] = []
      const c = new Conditions(conditions, t)
      c.setStatus('Ready', 'True')
      c.message('Ready', 'Completed')
      c.setStatus('Uploaded', 'True')
      fresh.status = {
        ...(fresh.status ?? {}),
        conditions,
        lastSnapshotTs: t,
        backupType: 'One-time',
        observedGeneration: fresh.metadata.generation,
        storageLocation: 'S3',
        filename
      }
      await op.api.replace(kpath(RESOURCES_V1, 'backups', undefined, name, 'status'), fresh)
    })
    .catch(async e => {
      if (e instanceof Aborted) throw e
      await setBackupReconciling(op, backup, e)
    })
  op.log.info('Done with backup')
}

/** performBackup: gather, write, upload; returns the status filename. */
async function performBackup(
  op: OperatorRuntime,
  backup: BackupObject,
  fileBase: string
): Promise<string> {
  const name = backup.metadata.name ?? ''
  const spec = backup.spec ?? {}
  let transformers: EncryptionTransformers | undefined
  if (spec.encryptionConfigSecretName) {
    op.log.info(
      `Processing encryption config ${spec.encryptionConfigSecretName} for backup CR ${name}`
    )
    transformers = await op.encryptionTransformers(spec.encryptionConfigSecretName)
  }
  const rsName = spec.resourceSetName ?? ''
  op.log.info(`Using resourceSet ${rsName} for gathering resources for backup CR ${name}`)
  const resourceSet = await op.api.get<ResourceSet>(
    kpath(RESOURCES_V1, 'resourcesets', undefined, rsName)
  )
  op.log.info(`Gathering resources for backup CR ${name}`)
  const gatherer = new ResourceGatherer(op.guarded(), op.discovery, op.log)
  const gathered = await gatherer.gather(resourceSet.resourceSelectors ?? [])
  op.log.info(`Finished gathering resources for backup CR ${name}, writing to temp location`)
  const files = new Map<string, { data: Buffer; mode?: number }>()
  for (const { type, objects } of gathered) {
    const transformer = transformers?.for({ group: type.group, resource: type.name })
    for (const original of objects) {
      const obj = structuredClone(original) as Obj
      const md = rec(obj['metadata'])
      if (md['deletionTimestamp'] !== undefined) {
        if (obj['kind'] !== 'Namespace') {
          if (md['finalizers'] === undefined) continue
        } else {
          const fins = rec(obj['spec'])['finalizers']
          if (!Array.isArray(fins) || fins.length === 0) continue
        }
      }
      const objName = String(md['name'] ?? '')
      for (const f of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'selfLink',
        'resourceVersion',
        'deletionGracePeriodSeconds'
      ]) {
        delete md[f]
      }
      let path = typeDir(type)
      let aad = objName
      if (type.namespaced) {
        const ns = String(md['namespace'] ?? '')
        aad = `${ns}#${objName}`
        path = `${path}/${ns}`
      }
      let bytes = Buffer.from(goJson(obj))
      if (transformer) bytes = Buffer.from(goJson(transformer.toStorage(bytes, aad)))
      files.set(`${path}/${objName}.json`, { data: bytes })
    }
  }
  op.log.info(`Saving resourceSet used for backup CR ${name}`)
  const { metadata, resourceSelectors, controllerReferences } = resourceSet
  files.set('filters/filters.json', {
    data: Buffer.from(JSON.stringify({ metadata, resourceSelectors, controllerReferences })),
    mode: 0o755
  })
  let gzipFile = `${fileBase}.tar.gz`
  if (spec.encryptionConfigSecretName) gzipFile += '.enc'
  const s3 = spec.storageLocation?.s3
  if (!s3) {
    op.log.info('No storage location specified, checking for default PVC and S3')
    throw goErr(
      `backup ${name} needs to specify S3 details, or configure storage location at the operator level`
    )
  }
  const body = await writeTarGz(walkOrder(files, op.now()))
  // upload.go: the folder loses its trailing slashes, the key its leading and trailing ones.
  const key = s3.folder
    ? `${s3.folder.replace(/\/+$/, '')}/${gzipFile}`.replace(/^\/+|\/+$/g, '')
    : gzipFile
  const target = await op.s3Client(s3)
  const named = op.features.s3ErrorsNameBucket
  op.log.info(`invoking uploading backup file [${key}] to s3`)
  for (let retries = 0; ; retries++) {
    try {
      await putObject(target, key, body, 'application/gzip')
    } catch (e) {
      const failed = named
        ? `failed to upload backup file [${key}], error: ${message(e)}`
        : `failed to upload backup file: ${message(e)}`
      op.log.info(`${failed}, retried ${retries} times`)
      if (retries >= 3) throw goErr(failed)
      continue
    }
    op.log.info(
      named
        ? `Successfully uploaded [${key}]`
        : `Successfully uploaded [${key}] of size [${body.length}]`
    )
    return gzipFile
  }
}

async function setBackupReconciling(
  op: OperatorRuntime,
  backup: BackupObject,
  originalErr: unknown
): Promise<never> {
  const errMsg = message(originalErr)
  const err = originalErr instanceof Error ? originalErr : new Error(errMsg)
  const cond = backup.status?.conditions?.find(c => c.type === 'Reconciling')
  if (cond && cond.status !== 'Unknown' && cond.reason === 'Error') {
    if ((cond.message ?? '').includes(errMsg)) throw err
  }
  await op.writeReconcilingError('backups', backup.metadata.name ?? '', errMsg)
  throw err
}
