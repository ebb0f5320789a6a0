/**
 * The restore side's backup: downloaded from S3, unpacked, decrypted, sorted into objects, as
 * rancher/backup-restore-operator pkg/objectstore/s3minio.go DownloadFromS3WithPrefix and
 * pkg/controllers/restore/download.go LoadFromTarGzip / loadDataFromFile do at tags v1.2.1 to
 * v11.0.1, with the v2.1.2 S3 messages (`s3ErrorsNameBucket`), the v7.0.2 / v8.0.0
 * shouldSkipBuiltin (`skipBuiltinRoles`) and the v7.0.0 decryption rule (`decryptOnlyJsonStrings`)
 * of versions.ts.
 *
 * Differs from upstream: minio's GetObject is lazy upstream, so a failed download would surface as `failed to
 * copy retrieved object to local file …`, here as the retried GET.
 */
import { posix } from 'node:path'
import { readTarGz } from './archive.js'
import type { RestoreObject, S3ObjectStore } from './api-types.js'
import type { EncryptionTransformers } from './crypto.js'
import { goErr, grString, message, parseTypeDir, rec, type Gvr, type Obj } from './helpers.js'
import type { ResourceSet } from './resources.js'
import type { OperatorRuntime } from './runtime.js'
import { getObject, listKeys } from './s3.js'

// The loaded backup (restore side)

export interface ObjInfo {
  name: string
  namespace: string
  gvr: Gvr
  /** Path inside the archive, e.g. `secrets.#v1/cattle-system/x.json` */
  configPath: string
  data: Obj
}

export interface ObjectsFromBackup {
  crds: ObjInfo[]
  clusterScoped: ObjInfo[]
  namespaced: ObjInfo[]
  resourcesFromBackup: Set<string>
  resourceSet: ResourceSet
}

export async function downloadFromS3(
  op: OperatorRuntime,
  restore: RestoreObject,
  s3: S3ObjectStore
): Promise<{ entries: Awaited<ReturnType<typeof readTarGz>> }> {
  const target = await op.s3Client(s3)
  let prefix = restore.spec?.backupFilename ?? ''
  if (prefix === '') throw goErr('empty backup name')
  if (s3.folder) prefix = `${s3.folder.replace(/\/$/, '')}/${prefix}`
  let keys: string[]
  try {
    keys = await listKeys(target, prefix)
  } catch (e) {
    op.log.error(`failed to list objects in backup buckets [${target.bucket}]: ${message(e)}`)
    throw e
  }
  const named = op.features.s3ErrorsNameBucket
  const bucket = target.bucket
  const filename = keys.find(k => k === prefix)
  if (!filename) {
    throw goErr(
      named
        ? `failed to download s3 backup: no backup files found with prefix [${prefix}] in bucket [${bucket}]`
        : 'failed to download s3 backup: no backups found'
    )
  }
  op.log.info(`Temporary location of backup file from s3: /tmp/${posix.basename(filename)}`)
  let body: Buffer | undefined
  for (let retries = 0; retries <= 3 && body === undefined; retries++) {
    try {
      body = await getObject(target, filename)
    } catch (e) {
      op.log.info(
        named
          ? `Failed to download backup file [${filename}] from bucket [${bucket}]: ${message(e)}, retried ${retries} times`
          : `Failed to download backup file [${filename}]: ${message(e)}, retried ${retries} times`
      )
      if (retries >= 3) {
        throw goErr(
          named
            ? `unable to download backup file [${filename}] from bucket [${bucket}]: ${message(e)}`
            : `unable to download backup file for [${filename}]: ${message(e)}`
        )
      }
      continue
    }
    op.log.info(
      named
        ? `Successfully downloaded backup file [${filename}] from bucket [${bucket}]`
        : `Successfully downloaded [${filename}]`
    )
  }
  try {
    return { entries: await readTarGz(body ?? Buffer.alloc(0)) }
  } catch (e) {
    throw goErr(message(e))
  }
}

/** LoadFromTarGzip + loadDataFromFile. */
export function loadFromTarGzip(
  op: OperatorRuntime,
  entries: Awaited<ReturnType<typeof readTarGz>>,
  transformers: EncryptionTransformers | undefined
): ObjectsFromBackup {
  const out: ObjectsFromBackup = {
    crds: [],
    clusterScoped: [],
    namespaced: [],
    resourcesFromBackup: new Set(),
    resourceSet: { metadata: {} }
  }
  for (const e of entries) {
    if (e.type !== 'file') continue
    let data = e.data ?? Buffer.alloc(0)
    if (e.name.includes('filters')) {
      if (e.name.includes('filters.json')) {
        try {
          out.resourceSet = JSON.parse(data.toString('utf8')) as ResourceSet
        } catch (err) {
          throw goErr(`error unmarshaling backup filters file: ${message(err)}`)
        }
      }
      continue
    }
    out.resourcesFromBackup.add(e.name)
    const parts = e.name.split('/')
    let name: string
    let namespace = ''
    let aad: string
    if (parts.length === 2) {
      name = (parts[1] ?? '').replace(/\.json$/, '')
      aad = name
    } else {
      name = (parts[2] ?? '').replace(/\.json$/, '')
      namespace = parts[1] ?? ''
      aad = `${namespace}#${name}`
    }
    const gvr = parseTypeDir(parts[0] ?? '')
    const gr = { group: gvr.group, resource: gvr.resource }
    const transformer = transformers?.for(gr)
    if (transformer && (!op.features.decryptOnlyJsonStrings || data[0] === 0x22)) {
      let encrypted: Buffer
      try {
        const s = JSON.parse(data.toString('utf8')) as unknown
        if (typeof s !== 'string') {
          throw new Error(
            `json: cannot unmarshal ${Array.isArray(s) ? 'array' : typeof s === 'object' ? 'object' : typeof s} into Go value of type []uint8`
          )
        }
        encrypted = Buffer.from(s, 'base64')
      } catch (err) {
        op.log.error(
          `Error unmarshaling encrypted data for resource [${grString(gr)}]: ${message(err)}`
        )
        throw goErr(
          `error unmarshaling encrypted data for resource [${grString(gr)}]: ${message(err)}`
        )
      }
      try {
        data = transformer.fromStorage(encrypted, aad)
      } catch (err) {
        op.log.error(
          `Error decrypting encrypted resource [${grString(gr)}]: ${message(err)}, provide same encryption config as used for backup`
        )
        throw goErr(
          `error decrypting encrypted resource [${grString(gr)}]: ${message(err)}, provide same encryption config as used for backup`
        )
      }
    }
    let obj: unknown
    try {
      obj = JSON.parse(data.toString('utf8'))
    } catch (err) {
      throw goErr(message(err))
    }
    if (typeof obj === 'string' && !transformer) {
      op.log.error(
        `Error unmarshaling encrypted resource [${grString(gr)}], no encryption config provided `
      )
      throw goErr(
        `error unmarshaling encrypted resource [${grString(gr)}], no encryption config provided`
      )
    }
    // Left out of the restore, but still in resourcesFromBackup: prune spares it.
    if (op.features.skipBuiltinRoles && shouldSkipBuiltin(gvr.resource, rec(obj))) continue
    const info: ObjInfo = { name, namespace, gvr, configPath: e.name, data: rec(obj) }
    if (gvr.resource.toLowerCase() === 'customresourcedefinitions') out.crds.push(info)
    else if (namespace) out.namespaced.push(info)
    else out.clusterScoped.push(info)
  }
  return out
}

/** shouldSkipBuiltin (download.go): a GlobalRole or RoleTemplate with `builtin` true or "true". */
export function shouldSkipBuiltin(resource: string, obj: Obj): boolean {
  if (!/^(globalroles|roletemplates)$/i.test(resource)) return false
  return obj['builtin'] === true || obj['builtin'] === 'true'
}
