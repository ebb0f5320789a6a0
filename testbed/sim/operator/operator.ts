/**
 * The simulated rancher backup-restore operator (BRO) of the end-to-end testbed: a fake-kubelet
 * behaviour that runs "inside" the pods of Deployment `rancher-backup` (label
 * `app.kubernetes.io/name: rancher-backup`) and does, against the real API server and S3, what
 * the real operator does (rancher/backup-restore-operator pkg/controllers/backup, …/restore,
 * pkg/resourcesets). It acts only while such a pod runs; a deleted pod stops it.
 *
 *   cluster.kubelet.registerBehaviour(
 *     simulatedOperator({ api: cluster.api, s3Endpoint: hostPort => `http://${hostPort}` })
 *   )
 *
 * Backup (resources.cattle.io/v1, cluster-scoped): the objects the Backup's ResourceSet selects
 * (real ResourceSet semantics, see resources.ts) go into
 * `<folder>/<backup>-<kube-system namespace UID>-<YYYY-MM-DDTHH-MM-SSZ>.tar.gz[.enc]`; status
 * `filename`, `lastSnapshotTs`, `backupType`, `storageLocation`, conditions Ready=True
 * "Completed" and Uploaded=True.
 *
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
 * Version-dependent behaviour follows the operator image tag (`v<major>.<minor>.<patch>`):
 * from v10 (Rancher 2.14 line) structured log messages and mergeVersionsFromLiveCRD (BRO PR
 * #911: a restored CRD keeps the live CRD's extra versions, so storedVersions no longer refuse
 * it); before that, the printf-style messages and the storedVersions refusal.
 */
import { randomBytes } from 'node:crypto'
import { posix } from 'node:path'
import type { S3Target } from '../../../src/facts/s3-client.js'
import type { BehaviourOutcome, Pod, PodBehaviour } from '../../cluster/fake-kubelet.js'
import { KubeApiError, kpath, type KubeApi, type KubeObject } from '../../cluster/kube-api.js'
import { goJson, readTarGz, walkOrder, writeTarGz } from './archive.js'
import { ENCRYPTION_CONFIG_KEY, EncryptionTransformers, type GroupResource } from './crypto.js'
import { OperatorLogger, rfc3339, type LogFields } from './log.js'
import { abortableSleep, Controller } from './queue.js'
import {
  Discovery,
  ResourceGatherer,
  errText,
  splitGroupVersion,
  typeDir,
  type ControllerReference,
  type ResourceSelector,
  type ResourceSet
} from './resources.js'
import { bucketExists, getObject, listKeys, putObject } from './s3.js'

export const OPERATOR_LABEL = 'app.kubernetes.io/name'
export const OPERATOR_LABEL_VALUE = 'rancher-backup'
export const LEASE_NAME = 'restore-controller'
const DEFAULT_CHART_NAMESPACE = 'cattle-resources-system'
const RESOURCES_V1 = 'resources.cattle.io/v1'
const WORKERS = 2

export interface SimulatedOperatorOptions {
  /** Admin client of the cluster. */
  api: KubeApi
  /** Maps a storageLocation's `endpoint` (host[:port]) to the URL the S3 server answers on. */
  s3Endpoint: (endpoint: string) => string
  /** Clock for log lines, file names and status times (default: the real one). */
  now?: () => Date
}

// ---------------------------------------------------------------------------------------------
// API types (resources.cattle.io/v1)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>

function rec(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {}
}

/** schema.GroupVersionResource's String(). */
function gvrString(gvr: Gvr): string {
  return `${gvr.group}/${gvr.version}, Resource=${gvr.resource}`
}

interface Gvr {
  group: string
  version: string
  resource: string
}

function gvOf(gvr: Gvr): string {
  return gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version
}

/** getGVR: `secrets.#v1` → {"" v1 secrets}, `clusters.cluster.x-k8s.io#v1beta1` → … */
export function parseTypeDir(dir: string): Gvr {
  const [rg = '', version = ''] = dir.split('#')
  const dot = rg.indexOf('.')
  const resource = dot < 0 ? rg : rg.slice(0, dot)
  const group = dot < 0 ? '' : rg.slice(dot + 1)
  return { group, version, resource }
}

/** schema.GroupResource's String(). */
function grString(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource
}

/** util.ErrList: Go's `%v` of a []error. */
function errList(errs: string[]): Error | undefined {
  return errs.length > 0 ? new Error(`[${errs.join(' ')}]`) : undefined
}

/** A Go error with a message exactly as the operator would print it. */
class GoError extends Error {}

function goErr(message: string): GoError {
  return new GoError(message)
}

function message(e: unknown): string {
  return errText(e)
}

function isNotFound(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 404
}

function isConflict(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 409
}

/** The operator's version from its image tag (`…:v4.0.2` → [4, 0, 2]). */
export function operatorVersion(image: string): [number, number, number] {
  const tag = image.slice(image.lastIndexOf(':') + 1)
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag)
  if (!m) return [4, 0, 0]
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

class Aborted extends Error {
  override name = 'Aborted'
}

// Condition helpers with wrangler's semantics (pkg/condition): a condition created on demand
// starts as Unknown; a changed status or message stamps lastUpdateTime; reason does not.
class Conditions {
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

// ---------------------------------------------------------------------------------------------
// The loaded backup (restore side)
// ---------------------------------------------------------------------------------------------

interface ObjInfo {
  name: string
  namespace: string
  gvr: Gvr
  /** Path inside the archive, e.g. `secrets.#v1/cattle-system/x.json` */
  configPath: string
  data: Obj
}

interface ObjectsFromBackup {
  crds: ObjInfo[]
  clusterScoped: ObjInfo[]
  namespaced: ObjInfo[]
  resourcesFromBackup: Set<string>
  resourceSet: ResourceSet
}

// ---------------------------------------------------------------------------------------------
// The operator
// ---------------------------------------------------------------------------------------------

class Operator {
  private readonly log: OperatorLogger
  private readonly structured: boolean
  private readonly mergeLiveVersions: boolean
  private readonly customizeObjects: boolean
  private readonly discovery: Discovery
  private kubeSystemUid = ''

  constructor(
    private readonly raw: KubeApi,
    private readonly opts: SimulatedOperatorOptions,
    private readonly chartNamespace: string,
    private readonly version: [number, number, number],
    sink: (line: string) => void,
    private readonly signal: AbortSignal
  ) {
    this.log = new OperatorLogger(sink, () => this.now())
    this.structured = version[0] >= 10
    this.mergeLiveVersions = version[0] >= 10
    this.customizeObjects = version[0] >= 3
    this.discovery = new Discovery(this.guarded())
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date()
  }

  /** The API client, refusing to work once the pod is gone (the process would be dead). */
  private get api(): KubeApi {
    if (this.signal.aborted) throw new Aborted('the operator pod was stopped')
    return this.raw
  }

  private guarded(): KubeApi {
    return new Proxy(this.raw, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown
        if (typeof v !== 'function') return v
        return (...args: unknown[]) => {
          if (this.signal.aborted) throw new Aborted('the operator pod was stopped')
          return (v as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
    })
  }

  /** Logs the printf-style line of older operators, or the structured one of v10+. */
  private say(
    level: 'info' | 'warn' | 'error',
    printf: string,
    structured?: string,
    fields?: LogFields
  ): void {
    if (this.structured && structured !== undefined) this.log.log(level, structured, fields)
    else this.log.log(level, printf)
  }

  // ---- start-up ------------------------------------------------------------------------------

  async run(): Promise<BehaviourOutcome> {
    const v = `v${this.version.join('.')}`
    const commit = randomBytes(4).toString('hex').slice(0, 7)
    if (this.version[0] >= 5) {
      this.log.info(`Starting backup-restore-operator version ${v} (${commit}) [built at unknown]`)
    } else {
      this.log.info(`Starting backup-restore controller version ${v} (${commit})`)
    }
    this.log.info(
      'No PVC or S3 details provided for storing backups by default. User must specify storageLocation' +
        'on each Backup CR'
    )
    this.log.info(
      `Secrets containing encryption config files must be stored in the namespace ${this.chartNamespace}`
    )
    try {
      const ks = await this.api.get(kpath('v1', 'namespaces', undefined, 'kube-system'))
      this.kubeSystemUid = ks.metadata.uid ?? ''
    } catch (e) {
      if (this.signal.aborted) return 'Failed'
      this.log.log('fatal', `Error getting namespace kube-system ${message(e)}`)
      return { result: 'Failed', exitCode: 1 }
    }
    // restore.Register: a Lease left by an earlier pod is removed.
    await this.api
      .delete(kpath('coordination.k8s.io/v1', 'leases', this.chartNamespace, LEASE_NAME))
      .catch(() => undefined)

    const listError = (kind: string) => (e: unknown) => {
      const ts = this.now()
      const mmdd = `${String(ts.getUTCMonth() + 1).padStart(2, '0')}${String(ts.getUTCDate()).padStart(2, '0')}`
      const hms = ts.toISOString().slice(11, 23) + '000'
      this.log.plainLine(
        `E${mmdd} ${hms}       1 reflector.go:138] pkg/mod/k8s.io/client-go/tools/cache/reflector.go:167: Failed to watch *v1.${kind}: failed to list *v1.${kind}: ${message(e)}`
      )
    }
    const backups = new Controller<BackupObject>(
      this.raw,
      kpath(RESOURCES_V1, 'backups'),
      (key, obj) => this.onBackupChange(key, obj),
      (key, e) => this.syncError(key, 'backups', e),
      listError('Backup')
    )
    const restores = new Controller<RestoreObject>(
      this.raw,
      kpath(RESOURCES_V1, 'restores'),
      (key, obj) => this.onRestoreChange(key, obj),
      (key, e) => this.syncError(key, 'restore', e),
      listError('Restore')
    )
    this.log.info(`Starting ${RESOURCES_V1}, Kind=Backup controller`)
    this.log.info(`Starting ${RESOURCES_V1}, Kind=Restore controller`)
    await Promise.all([backups.run(this.signal, WORKERS), restores.run(this.signal, WORKERS)])
    return 'Succeeded'
  }

  private syncError(key: string, handler: string, e: unknown): void {
    if (e instanceof Aborted) return
    const msg = message(e)
    if (msg.includes('please apply your changes to the latest version and try again')) return
    this.log.error(`error syncing '${key}': handler ${handler}: ${msg}, requeuing`)
  }

  // ---- shared: encryption, S3 ----------------------------------------------------------------

  private async encryptionTransformers(secretName: string): Promise<EncryptionTransformers> {
    this.log.info(`Get encryption config from namespace ${this.chartNamespace}`)
    const secret = await this.api.get<KubeObject & { data?: Record<string, string> }>(
      kpath('v1', 'secrets', this.chartNamespace, secretName)
    )
    const b64 = secret.data?.[ENCRYPTION_CONFIG_KEY]
    if (b64 === undefined) throw goErr('no encryptionConfig provided')
    return new EncryptionTransformers(Buffer.from(b64, 'base64').toString('utf8'))
  }

  /** objectstore.GetS3Client + SetS3Service: credentials, client, BucketExists. */
  private async s3Client(s3: S3ObjectStore): Promise<S3Target> {
    let accessKey = ''
    let secretKey = ''
    if (s3.credentialSecretName) {
      const secret = await this.api.get<KubeObject & { data?: Record<string, string> }>(
        kpath('v1', 'secrets', s3.credentialSecretNamespace || 'default', s3.credentialSecretName)
      )
      if (!secret.data) throw goErr('malformed secret')
      accessKey = Buffer.from(secret.data['accessKey'] ?? '', 'base64').toString('utf8')
      secretKey = Buffer.from(secret.data['secretKey'] ?? '', 'base64').toString('utf8')
    }
    this.log.info('invoking set s3 service client', {
      's3-endpoint': s3.endpoint ?? '',
      's3-bucketName': s3.bucketName ?? '',
      's3-accessKey': accessKey,
      's3-region': s3.region ?? '',
      's3-endpoint-ca': s3.endpointCA ?? '',
      's3-folder': s3.folder ?? ''
    })
    if (!accessKey && !secretKey) this.log.info('invoking set s3 service client use IAM role')
    const url = new URL(this.opts.s3Endpoint(s3.endpoint || 's3.amazonaws.com'))
    let caPem = ''
    if (s3.endpointCA) {
      const decoded = Buffer.from(s3.endpointCA, 'base64').toString('utf8')
      if (!decoded.includes('-----BEGIN CERTIFICATE-----')) {
        throw goErr('s3-endpoint-ca is not a valid x509 certificate')
      }
      caPem = decoded
    }
    const target: S3Target = {
      scheme: url.protocol === 'https:' ? 'https' : 'http',
      endpoint: url.host,
      region: s3.region ?? '',
      bucket: s3.bucketName ?? '',
      caPem,
      insecureSkipVerify: s3.insecureTLSSkipVerify === true,
      accessKey,
      secretKey
    }
    let found: boolean
    try {
      found = await bucketExists(target)
    } catch (e) {
      throw goErr(`failed to check s3 bucket:${target.bucket}, err:${message(e)}`)
    }
    if (!found) throw goErr(`bucket ${target.bucket} is not found`)
    return target
  }

  // ---- Backup ------------------------------------------------------------------------------

  private async onBackupChange(_key: string, backup: BackupObject | undefined): Promise<void> {
    if (!backup || backup.metadata.deletionTimestamp) return
    const name = backup.metadata.name ?? ''
    this.say('info', `Processing backup ${name}`, 'Processing backup', { name })
    const spec = backup.spec ?? {}
    const status = backup.status ?? {}
    if (status.lastSnapshotTs) {
      if (!spec.schedule) {
        this.say(
          'info',
          `Backup CR ${name} has been processed for one-time backup, returning`,
          'Backup CR has been processed for one-time backup, returning',
          { name }
        )
        if (
          backup.metadata.generation !== status.observedGeneration ||
          status.backupType !== 'One-time'
        ) {
          await this.api.replace(kpath(RESOURCES_V1, 'backups', undefined, name, 'status'), {
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
    const ts = rfc3339(this.now()).replace(/:/g, '-')
    const fileBase = `${name}-${this.kubeSystemUid}-${ts}`
    this.say('info', `For backup CR ${name}, filename: ${fileBase}`)
    const tmp = `/tmp/${fileBase}${Math.floor(Math.random() * 1e9)}`
    this.say(
      'info',
      `Temporary backup path for storing all contents for backup CR ${name} is ${tmp}`
    )
    let filename: string
    try {
      filename = await this.performBackup(backup, fileBase)
    } catch (e) {
      if (e instanceof Aborted) throw e
      await this.setBackupReconciling(backup, e)
      return
    }
    await this.retryOnConflict(async () => {
      const fresh = await this.api.get<BackupObject>(
        kpath(RESOURCES_V1, 'backups', undefined, name)
      )
      const t = rfc3339(this.now())
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
      await this.api.replace(kpath(RESOURCES_V1, 'backups', undefined, name, 'status'), fresh)
    }).catch(async e => {
      if (e instanceof Aborted) throw e
      await this.setBackupReconciling(backup, e)
    })
    this.log.info('Done with backup')
  }

  /** performBackup: gather, write, upload; returns the status filename. */
  private async performBackup(backup: BackupObject, fileBase: string): Promise<string> {
    const name = backup.metadata.name ?? ''
    const spec = backup.spec ?? {}
    let transformers: EncryptionTransformers | undefined
    if (spec.encryptionConfigSecretName) {
      this.say(
        'info',
        `Processing encryption config ${spec.encryptionConfigSecretName} for backup CR ${name}`
      )
      transformers = await this.encryptionTransformers(spec.encryptionConfigSecretName)
    }
    const rsName = spec.resourceSetName ?? ''
    this.say('info', `Using resourceSet ${rsName} for gathering resources for backup CR ${name}`)
    const resourceSet = await this.api.get<ResourceSet>(
      kpath(RESOURCES_V1, 'resourcesets', undefined, rsName)
    )
    this.say('info', `Gathering resources for backup CR ${name}`)
    const gatherer = new ResourceGatherer(this.guarded(), this.discovery, this.log)
    const gathered = await gatherer.gather(resourceSet.resourceSelectors ?? [])
    this.say('info', `Finished gathering resources for backup CR ${name}, writing to temp location`)
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
    this.say('info', `Saving resourceSet used for backup CR ${name}`)
    const { metadata, resourceSelectors, controllerReferences } = resourceSet
    files.set('filters/filters.json', {
      data: Buffer.from(JSON.stringify({ metadata, resourceSelectors, controllerReferences })),
      mode: 0o755
    })
    let gzipFile = `${fileBase}.tar.gz`
    if (spec.encryptionConfigSecretName) gzipFile += '.enc'
    const s3 = spec.storageLocation?.s3
    if (!s3) {
      this.say('info', 'No storage location specified, checking for default PVC and S3')
      throw goErr(
        `backup ${name} needs to specify S3 details, or configure storage location at the operator level`
      )
    }
    const body = await writeTarGz(walkOrder(files, this.now()))
    const key = s3.folder ? `${s3.folder}/${gzipFile}` : gzipFile
    const target = await this.s3Client(s3)
    this.log.info(`invoking uploading backup file [${key}] to s3`)
    let lastErr: unknown
    for (let retries = 0; retries <= 3; retries++) {
      try {
        await putObject(target, key, body, 'application/gzip')
        this.log.info(`Successfully uploaded [${key}] of size [${body.length}]`)
        lastErr = undefined
        break
      } catch (e) {
        lastErr = e
        this.log.info(`failed to upload backup file: ${message(e)}, retried ${retries} times`)
      }
    }
    if (lastErr !== undefined) throw goErr(`failed to upload backup file: ${message(lastErr)}`)
    return gzipFile
  }

  private async setBackupReconciling(backup: BackupObject, originalErr: unknown): Promise<never> {
    const errMsg = message(originalErr)
    const err = originalErr instanceof Error ? originalErr : new Error(errMsg)
    const cond = backup.status?.conditions?.find(c => c.type === 'Reconciling')
    if (cond && cond.status !== 'Unknown' && cond.reason === 'Error') {
      if ((cond.message ?? '').includes(errMsg)) throw err
    }
    const name = backup.metadata.name ?? ''
    try {
      await this.retryOnConflict(async () => {
        const fresh = await this.api.get<BackupObject>(
          kpath(RESOURCES_V1, 'backups', undefined, name)
        )
        const conditions = fresh.status?.conditions ?? []
        const c = new Conditions(conditions, rfc3339(this.now()))
        c.setStatus('Reconciling', 'True')
        c.setError('Reconciling', errMsg)
        c.message('Ready', 'Retrying')
        fresh.status = { ...(fresh.status ?? {}), conditions }
        await this.api.replace(kpath(RESOURCES_V1, 'backups', undefined, name, 'status'), fresh)
      })
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(errMsg + message(e))
    }
    throw err
  }

  /** client-go's retry.RetryOnConflict(retry.DefaultRetry, …): 5 tries, 10 ms apart. */
  private async retryOnConflict(f: () => Promise<void>): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await f()
        return
      } catch (e) {
        if (!isConflict(e) || i >= 4) throw e
        await abortableSleep(10 * (i + 1), this.signal)
      }
    }
  }

  // ---- Restore ------------------------------------------------------------------------------

  private async onRestoreChange(_key: string, restore: RestoreObject | undefined): Promise<void> {
    if (!restore || restore.metadata.deletionTimestamp) return
    if (restore.status?.restoreCompletionTs) return
    await this.lock(restore)
    try {
      await this.processRestore(restore)
    } finally {
      await this.unlock(leaseHolder(restore)).catch(() => undefined)
    }
  }

  private async lock(restore: RestoreObject): Promise<void> {
    const path = kpath('coordination.k8s.io/v1', 'leases', this.chartNamespace, LEASE_NAME)
    let lease: KubeObject & { spec?: { holderIdentity?: string | null } }
    try {
      lease = await this.api.get(path)
    } catch (e) {
      if (!isNotFound(e)) throw e
      await this.api.create(kpath('coordination.k8s.io/v1', 'leases', this.chartNamespace), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: LEASE_NAME, namespace: this.chartNamespace },
        spec: { holderIdentity: leaseHolder(restore) }
      })
      return
    }
    if (lease.spec?.holderIdentity) {
      throw goErr(`restore ${lease.spec.holderIdentity} is in progress`)
    }
    lease.spec = { ...(lease.spec ?? {}), holderIdentity: leaseHolder(restore) }
    await this.api.replace(path, lease)
  }

  private async unlock(id: string): Promise<void> {
    const path = kpath('coordination.k8s.io/v1', 'leases', this.chartNamespace, LEASE_NAME)
    let lease: KubeObject & { spec?: { holderIdentity?: string | null } }
    try {
      lease = await this.raw.get(path)
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
    await this.raw.replace(path, lease)
  }

  private async processRestore(restore: RestoreObject): Promise<void> {
    const name = restore.metadata.name ?? ''
    const spec = restore.spec ?? {}
    this.say('info', `Processing Restore CR ${name}`, 'Processing restore custom resource', {
      name
    })
    this.say(
      'info',
      `Restoring from backup ${spec.backupFilename ?? ''}`,
      'Initiating database restore from backup file',
      { backup_filename: spec.backupFilename ?? '' }
    )

    let transformers: EncryptionTransformers | undefined
    if (spec.encryptionConfigSecretName) {
      this.say(
        'info',
        `Processing encryption config ${spec.encryptionConfigSecretName} for restore CR ${name}`,
        'Processing encryption configuration for restore custom resource',
        { encryption_config_secret_name: spec.encryptionConfigSecretName, name }
      )
      try {
        transformers = await this.encryptionTransformers(spec.encryptionConfigSecretName)
      } catch (e) {
        if (e instanceof Aborted) throw e
        this.say(
          'error',
          `Error processing encryption config: ${message(e)}`,
          'Failed to fetch encryption configuration secret',
          { error: message(e) }
        )
        return this.setRestoreReconciling(restore, e)
      }
    }

    const s3 = spec.storageLocation?.s3
    if (!s3) {
      return this.setRestoreReconciling(
        restore,
        goErr(
          this.structured
            ? 'backup location not specified on the restore CR, and not configured at the operator level'
            : 'Backup location not specified on the restore CR, and not configured at the operator level'
        )
      )
    }
    let objs: ObjectsFromBackup
    try {
      const file = await this.downloadFromS3(restore, s3)
      objs = this.loadFromTarGzip(file.entries, transformers)
    } catch (e) {
      if (e instanceof Aborted) throw e
      return this.setRestoreReconciling(restore, e)
    }

    await this.scaleDown(objs)
    const fail = async (
      phase: string,
      printfLog: string,
      structuredLog: string,
      ignoreLog: string,
      e: unknown
    ): Promise<boolean> => {
      if (e instanceof Aborted) throw e
      await this.scaleUp(objs)
      if (spec.ignoreErrors) {
        this.say('warn', `${printfLog}${message(e)}`, ignoreLog, { error: message(e) })
        return false
      }
      this.say('error', `${printfLog}${message(e)}`, structuredLog, { error: message(e) })
      await this.setRestoreReconciling(
        restore,
        goErr(`error restoring ${phase}, check logs for exact error`)
      )
      return true
    }

    const created = new Set<string>()
    let crdsWithSubStatus: string[] = []
    this.say(
      'info',
      `Starting to restore CRDs for restore CR ${name}`,
      'Starting CRD restoration process for restore resource',
      { name }
    )
    try {
      crdsWithSubStatus = await this.restoreCRDs(created, objs)
    } catch (e) {
      const stop = await fail(
        'CRDs',
        'Error restoring CRDs ',
        'Failed to restore custom resource definitions during migration process',
        'Failed to restore CRDs during migration, continuing with remaining operations',
        e
      )
      if (stop) return
    }

    this.say(
      'info',
      `Starting to restore clusterscoped resources for restore CR ${name}`,
      'Starting cluster-scoped resource restoration for restore CR',
      { name }
    )
    try {
      await this.restoreFromGraph(objs.clusterScoped, created, crdsWithSubStatus)
    } catch (e) {
      const stop = await fail(
        'cluster-scoped resources',
        'Error restoring cluster-scoped resources ',
        'Failed to restore cluster-scoped resources',
        'Failed to restore cluster-scoped resources, continuing with migration',
        e
      )
      if (stop) return
    }

    this.say(
      'info',
      `Starting to restore namespaced resources for restore CR ${name}`,
      'Starting restore of namespaced resources for custom resource',
      { name }
    )
    try {
      await this.restoreFromGraph(objs.namespaced, created, crdsWithSubStatus)
    } catch (e) {
      const stop = await fail(
        'namespaced resources',
        'Error restoring namespaced resources ',
        'Failed to restore namespaced resources',
        'Failed to restore namespaced resources but continuing with migration process',
        e
      )
      if (stop) return
    }

    if (spec.prune === undefined || spec.prune === null || spec.prune === true) {
      this.say(
        'info',
        `Pruning resources that are not part of the backup for restore CR ${name}`,
        'Pruning resources not included in backup for restore operation',
        { name }
      )
      try {
        await this.prune(objs, spec.deleteTimeoutSeconds ?? 0)
      } catch (e) {
        if (e instanceof Aborted) throw e
        await this.scaleUp(objs)
        return this.setRestoreReconciling(
          restore,
          goErr(`error pruning during restore: ${message(e)}`)
        )
      }
    }
    await this.scaleUp(objs)

    try {
      await this.retryOnConflict(async () => {
        const fresh = await this.api.get<RestoreObject>(
          kpath(RESOURCES_V1, 'restores', undefined, name)
        )
        const t = rfc3339(this.now())
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
        await this.api.replace(kpath(RESOURCES_V1, 'restores', undefined, name, 'status'), fresh)
      })
    } catch (e) {
      if (e instanceof Aborted) throw e
      return this.setRestoreReconciling(restore, e)
    }
    this.log.info('Done restoring')
  }

  /**
   * setReconcilingCondition of the restore controller: when the Reconciling condition already
   * says this error, return it (the queue retries with backoff); else write Reconciling=False
   * reason Error + Ready "Retrying" and return no error (the status update itself re-triggers).
   */
  private async setRestoreReconciling(restore: RestoreObject, originalErr: unknown): Promise<void> {
    const errMsg = message(originalErr)
    const cond = restore.status?.conditions?.find(c => c.type === 'Reconciling')
    if (cond && cond.status !== 'Unknown' && cond.reason === 'Error') {
      const m = cond.message ?? ''
      if (m.includes(errMsg) || m.toLowerCase() === errMsg.toLowerCase()) {
        throw originalErr instanceof Error ? originalErr : new Error(errMsg)
      }
    }
    const name = restore.metadata.name ?? ''
    try {
      await this.retryOnConflict(async () => {
        const fresh = await this.api.get<RestoreObject>(
          kpath(RESOURCES_V1, 'restores', undefined, name)
        )
        const conditions = fresh.status?.conditions ?? []
        const c = new Conditions(conditions, rfc3339(this.now()))
        c.setStatus('Reconciling', 'True')
        c.setError('Reconciling', errMsg)
        c.message('Ready', 'Retrying')
        fresh.status = { ...(fresh.status ?? {}), conditions }
        await this.api.replace(kpath(RESOURCES_V1, 'restores', undefined, name, 'status'), fresh)
      })
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(errMsg + message(e))
    }
  }

  private async downloadFromS3(
    restore: RestoreObject,
    s3: S3ObjectStore
  ): Promise<{ entries: Awaited<ReturnType<typeof readTarGz>> }> {
    const target = await this.s3Client(s3)
    let prefix = restore.spec?.backupFilename ?? ''
    if (prefix === '') throw goErr('empty backup name')
    if (s3.folder) prefix = `${s3.folder.replace(/\/$/, '')}/${prefix}`
    let keys: string[]
    try {
      keys = await listKeys(target, prefix)
    } catch (e) {
      this.log.error(`failed to list objects in backup buckets [${target.bucket}]: ${message(e)}`)
      throw e
    }
    const filename = keys.find(k => k === prefix)
    if (!filename) throw goErr('failed to download s3 backup: no backups found')
    this.log.info(`Temporary location of backup file from s3: /tmp/${posix.basename(filename)}`)
    let body: Buffer | undefined
    let lastErr: unknown
    for (let retries = 0; retries <= 3; retries++) {
      try {
        body ??= await getObject(target, filename)
      } catch (e) {
        lastErr = e
        this.log.info(
          `Failed to download backup file [${filename}]: ${message(e)}, retried ${retries} times`
        )
        if (retries >= 3) {
          throw goErr(`unable to download backup file for [${filename}]: ${message(lastErr)}`)
        }
      }
      // The real loop has no break: it says so once per retry.
      this.log.info(`Successfully downloaded [${filename}]`)
    }
    try {
      return { entries: await readTarGz(body ?? Buffer.alloc(0)) }
    } catch (e) {
      throw goErr(message(e))
    }
  }

  /** LoadFromTarGzip + loadDataFromFile. */
  private loadFromTarGzip(
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
      if (transformer) {
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
          this.log.error(
            `Error unmarshaling encrypted data for resource [${grString(gr)}]: ${message(err)}`
          )
          throw goErr(
            `error unmarshaling encrypted data for resource [${grString(gr)}]: ${message(err)}`
          )
        }
        try {
          data = transformer.fromStorage(encrypted, aad)
        } catch (err) {
          this.log.error(
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
        this.log.error(
          `Error unmarshaling encrypted resource [${grString(gr)}], no encryption config provided `
        )
        throw goErr(
          `error unmarshaling encrypted resource [${grString(gr)}], no encryption config provided`
        )
      }
      const info: ObjInfo = { name, namespace, gvr, configPath: e.name, data: rec(obj) }
      if (gvr.resource.toLowerCase() === 'customresourcedefinitions') out.crds.push(info)
      else if (namespace) out.namespaced.push(info)
      else out.clusterScoped.push(info)
    }
    return out
  }

  // ---- controllerReferences (pause.go) ------------------------------------------------------

  private async controllerObject(ref: ControllerReference): Promise<KubeObject | undefined> {
    const id = `${ref.apiVersion}/${ref.resource}/${ref.name}`
    this.log.info(`Processing controllerRef ${id}`)
    try {
      return await this.api.get(kpath(ref.apiVersion, ref.resource, ref.namespace, ref.name))
    } catch (e) {
      if (e instanceof Aborted) throw e
      this.log.info(`Error getting object for controllerRef ${id}: ${message(e)}`)
      return undefined
    }
  }

  private async scaleDown(objs: ObjectsFromBackup): Promise<void> {
    for (const ref of objs.resourceSet.controllerReferences ?? []) {
      const obj = await this.controllerObject(ref)
      if (!obj) continue
      const spec = obj['spec'] as Obj | undefined
      if (!spec) {
        this.log.error(`Invalid controllerRef ${ref.name}, spec not found, skipping it`)
        continue
      }
      if (typeof spec['replicas'] !== 'number') {
        this.log.error(`Invalid controllerRef ${ref.name}, replicas not found, skipping it`)
        continue
      }
      ref.replicas = spec['replicas']
      const id = `${ref.apiVersion}/${ref.resource}/${ref.name}`
      this.log.info(`Scaling down controllerRef ${id} to 0`)
      try {
        await this.updateReplicas(ref, obj, 0)
      } catch (e) {
        if (e instanceof Aborted) throw e
        this.log.error(`Error scaling down ${id}, skipping it`)
      }
    }
  }

  private async scaleUp(objs: ObjectsFromBackup): Promise<void> {
    for (const ref of objs.resourceSet.controllerReferences ?? []) {
      const obj = await this.controllerObject(ref)
      if (!obj) continue
      const id = `${ref.apiVersion}/${ref.resource}/${ref.name}`
      this.log.info(`Scaling up controllerRef ${id} to ${ref.replicas}`)
      try {
        await this.updateReplicas(ref, obj, ref.replicas)
      } catch (e) {
        if (e instanceof Aborted) throw e
        this.log.error(`Error scaling up ${id}, edit it to scale back to ${ref.replicas}`)
      }
    }
  }

  /**
   * Update of the controller's replicas (the real operator: one dynamic Update). A conflict is
   * retried here with a fresh GET: the fake kubelet churns pods so fast that the Deployment's
   * status moves between GET and Update far more often than on a real cluster, and a lost
   * scale-up would leave Rancher at 0 for every later attempt.
   */
  private async updateReplicas(
    ref: ControllerReference,
    first: KubeObject,
    replicas: number
  ): Promise<void> {
    const path = kpath(ref.apiVersion, ref.resource, ref.namespace, ref.name)
    let obj = first
    for (let attempt = 0; ; attempt++) {
      obj['spec'] = { ...rec(obj['spec']), replicas }
      try {
        await this.api.replace(path, obj)
        return
      } catch (e) {
        if (!isConflict(e) || attempt >= 4) throw e
        obj = await this.api.get(path)
      }
    }
  }

  // ---- CRDs --------------------------------------------------------------------------------

  private async restoreCRDs(created: Set<string>, objs: ObjectsFromBackup): Promise<string[]> {
    const withStatus: string[] = []
    for (const info of objs.crds) {
      try {
        if (this.mergeLiveVersions) await this.mergeVersionsFromLiveCRD(info)
        await this.restoreResource(info, false)
      } catch (e) {
        if (e instanceof Aborted) throw e
        throw goErr(`restoreCRDs: ${message(e)}`)
      }
      created.add(info.configPath)
      withStatus.push(...crdsWithSubresourceStatus(info.data))
    }
    for (const info of objs.crds) await this.waitCRD(info.name)
    return withStatus
  }

  /** BRO >= 10: keep the live CRD's versions that the backup lacks (storage: false). */
  private async mergeVersionsFromLiveCRD(info: ObjInfo): Promise<void> {
    let live: KubeObject
    try {
      live = await this.api.get(kpath(gvOf(info.gvr), info.gvr.resource, undefined, info.name))
    } catch (e) {
      if (isNotFound(e)) return
      throw goErr(`error getting live CRD ${info.name}: ${message(e)}`)
    }
    const spec = rec(info.data['spec'])
    const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : []
    const have = new Set(versions.map(v => String(v['name'])))
    const added: string[] = []
    const liveVersions = rec(live['spec'])['versions']
    for (const v of Array.isArray(liveVersions) ? (liveVersions as Obj[]) : []) {
      const n = String(v['name'])
      if (have.has(n)) continue
      versions.push({ ...structuredClone(v), storage: false })
      added.push(n)
    }
    if (added.length === 0) return
    this.log.info(
      'mergeVersionsFromLiveCRD: merging live versions into backup CRD to satisfy storedVersions invariant',
      { added: `[${added.join(' ')}]`, crd: info.name }
    )
    spec['versions'] = versions
    info.data['spec'] = spec
  }

  private async waitCRD(crdName: string): Promise<void> {
    const waiting = () =>
      this.say(
        'info',
        `Waiting for CRD ${crdName} to become available`,
        'Waiting for custom resource definition to become available',
        { crd_name: crdName }
      )
    waiting()
    try {
      const deadline = Date.now() + 60_000
      for (let first = true; ; first = false) {
        await abortableSleep(500, this.signal)
        if (!first) waiting()
        const crd = await this.api.get(
          kpath('apiextensions.k8s.io/v1', 'customresourcedefinitions', undefined, crdName)
        )
        const conditions = rec(crd['status'])['conditions']
        for (const c of Array.isArray(conditions) ? (conditions as Obj[]) : []) {
          if (c['type'] === 'Established' && c['status'] === 'True') return
          if (c['type'] === 'NamesAccepted' && c['status'] === 'False') {
            this.say(
              'info',
              `Name conflict on ${crdName}: ${String(c['reason'])}\n`,
              'CRD name conflict detected during processing',
              { crd_name: crdName, reason: c['reason'] }
            )
          }
        }
        if (Date.now() >= deadline) throw goErr('timed out waiting for the condition')
      }
    } finally {
      this.say(
        'info',
        `Done waiting for CRD ${crdName} to become available`,
        'CRD availability wait completed successfully',
        { crd_name: crdName }
      )
    }
  }

  // ---- objects --------------------------------------------------------------------------------

  /** generateDependencyGraph + createFromDependencyGraph for one scope. */
  private async restoreFromGraph(
    infos: ObjInfo[],
    created: Set<string>,
    crdsWithSubStatus: string[]
  ): Promise<void> {
    const ownerToDependents = new Map<string, ObjInfo[]>()
    const numOwners = new Map<string, number>()
    const toRestore: ObjInfo[] = []
    for (const info of infos) {
      if (info.data['kind'] === 'Deployment' && info.namespace === 'cattle-system') {
        if (info.name.endsWith('rancher') || info.name.endsWith('rancher-webhook')) {
          this.say(
            'info',
            `Skip restoring the deployment ${info.namespace}/${info.name}`,
            'Skipping deployment restoration due to existing configuration',
            { namespace: info.namespace, name: info.name }
          )
          continue
        }
      }
      if (this.customizeObjects) customize(info.data)
      const md = rec(info.data['metadata'])
      const refs = md['ownerReferences']
      if (!Array.isArray(refs)) {
        toRestore.push(info)
        continue
      }
      let owners = 0
      let refErrors = false
      this.say(
        'info',
        `Checking ownerRefs for resource ${info.name} of type ${gvrString(info.gvr)}`,
        'Checking owner references for resource with specified type',
        { name: info.name, string: gvrString(info.gvr) }
      )
      for (const r of refs as Obj[]) {
        const apiVersion = String(r['apiVersion'] ?? '')
        const kind = String(r['kind'] ?? '')
        let owner: { resource: string; namespaced: boolean }
        try {
          owner = await this.discovery.resourceForKind(apiVersion, kind)
        } catch (e) {
          if (e instanceof Aborted) throw e
          refErrors = true
          this.log.error(
            `Invalid ownerRef ${apiVersion}, Kind=${kind}, either of the fields is incorrect: APIVersion or Kind`
          )
          continue
        }
        if (this.structured && (/^globalrole$/i.test(kind) || /^roletemplate$/i.test(kind))) {
          refErrors = true
          continue
        }
        const { group, version } = splitGroupVersion(apiVersion)
        const ownerDir = `${owner.resource}.${group}#${version}`
        const ownerName = String(r['name'] ?? '')
        let ownerPath = `${ownerDir}/${ownerName}.json`
        if (!owner.namespaced && created.has(ownerPath)) continue
        if (owner.namespaced) ownerPath = `${ownerDir}/${info.namespace}/${ownerName}.json`
        ownerToDependents.set(ownerPath, [...(ownerToDependents.get(ownerPath) ?? []), info])
        owners++
      }
      if (owners > 0) numOwners.set(info.configPath, owners)
      else {
        if (refErrors) {
          this.log.warn(
            `Resource ${info.name} of type ${gvrString(info.gvr)} has invalid ownerRefs, adding it to restore queue by dropping the ownerRefs`
          )
          delete md['ownerReferences']
        }
        toRestore.push(info)
      }
    }

    const errs: string[] = []
    while (toRestore.length > 0) {
      const curr = toRestore.shift() as ObjInfo
      if (created.has(curr.configPath)) {
        this.log.info(`Resource ${curr.configPath} is already created/updated`)
        continue
      }
      const target = `${curr.gvr.resource}.${gvOf(curr.gvr)}`
      try {
        await this.restoreResource(curr, crdsWithSubStatus.includes(target))
      } catch (e) {
        if (e instanceof Aborted) throw e
        this.log.error(
          `Error restoring resource ${curr.name} of type ${gvrString(curr.gvr)}: ${message(e)}`
        )
        errs.push(`error restoring ${curr.name} of type ${gvrString(curr.gvr)}: ${message(e)}`)
        continue
      }
      for (const dep of ownerToDependents.get(curr.configPath) ?? []) {
        const n = numOwners.get(dep.configPath) ?? 0
        if (n > 0) numOwners.set(dep.configPath, n - 1)
        if ((numOwners.get(dep.configPath) ?? 0) === 0) {
          this.log.info(`dependent ${dep.name} is now ready to create`)
          toRestore.push(dep)
        }
      }
      created.add(curr.configPath)
    }
    const err = errList(errs)
    if (err) throw err
  }

  private async restoreResource(info: ObjInfo, hasStatusSubresource: boolean): Promise<void> {
    this.say(
      'info',
      `restoreResource: Restoring ${info.name} of type ${gvrString(info.gvr)}`,
      'Starting resource restoration for specified object type',
      { name: info.name, g_v_r: gvrString(info.gvr) }
    )
    const obj = info.data
    const md = rec(obj['metadata'])
    obj['metadata'] = md
    const { name, namespace, gvr } = info
    if (
      gvr.resource === 'secrets' &&
      obj['type'] === 'fleet.cattle.io/cluster-registration-values'
    ) {
      this.log.info(`Skipping secret ${namespace}/${name} of type cluster-registration-values`)
      return
    }
    if (namespace && this.structured) {
      this.log.info('Restoring resource in namespace with specified name and type', {
        namespace,
        name,
        g_v_r: gvrString(gvr)
      })
    }
    const refs = md['ownerReferences']
    if (Array.isArray(refs)) {
      try {
        await this.updateOwnerRefs(refs as Obj[], namespace)
      } catch (e) {
        if (!isNotFound(e)) throw e
        this.log.warn(`Could not find ownerRef for resource ${name}`)
        delete md['ownerReferences']
        this.log.warn(
          `Resource ${name} will be restored without ownerReferences, edit it to add required ownerReferences`
        )
      }
    }
    if (obj['apiVersion'] === 'apiextensions.k8s.io/v1') {
      const spec = rec(obj['spec'])
      if ('preserveUnknownFields' in spec) {
        spec['preserveUnknownFields'] = false
        const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : []
        for (const v of versions) {
          v['schema'] = {
            ...rec(v['schema']),
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
          }
        }
      }
    }
    delete md['deletionGracePeriodSeconds']

    const collection = kpath(gvOf(gvr), gvr.resource, namespace || undefined)
    const path = kpath(gvOf(gvr), gvr.resource, namespace || undefined, name)
    let existing: KubeObject | undefined
    try {
      existing = await this.api.get(path)
    } catch (e) {
      if (!isNotFound(e)) throw goErr(`restoreResource: err getting resource ${message(e)}`)
    }
    if (!existing) {
      let createdObj: KubeObject
      try {
        createdObj = await this.api.create(collection, obj)
      } catch (e) {
        if (e instanceof Aborted) throw e
        throw goErr(
          this.structured ? `restoreResource: err creating resource ${message(e)}` : message(e)
        )
      }
      if (hasStatusSubresource && obj['status'] !== undefined) {
        this.log.info(
          `Post-create: Updating status subresource for "${name}" of type ${gvrString(gvr)}`
        )
        try {
          await this.api.replace(`${path}/status`, { ...createdObj, status: obj['status'] })
        } catch (e) {
          if (e instanceof Aborted) throw e
          throw goErr(`restoreResource: err updating status resource ${message(e)}`)
        }
      }
      return
    }
    md['resourceVersion'] = existing.metadata.resourceVersion
    let updated: KubeObject
    try {
      updated = await this.api.replace(path, obj)
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(`restoreResource: err updating resource ${message(e)}`)
    }
    if (hasStatusSubresource && obj['status'] !== undefined) {
      this.log.info(`Updating status subresource for "${name}" of type ${gvrString(gvr)}`)
      try {
        await this.api.replace(`${path}/status`, { ...updated, status: obj['status'] })
      } catch (e) {
        if (e instanceof Aborted) throw e
        throw goErr(`restoreResource: err updating status resource ${message(e)}`)
      }
    }
    this.say(
      'info',
      `Successfully restored ${name}`,
      'Database backup successfully restored for resource',
      { name }
    )
  }

  private async updateOwnerRefs(refs: Obj[], namespace: string): Promise<void> {
    for (const r of refs) {
      const apiVersion = typeof r['apiVersion'] === 'string' ? r['apiVersion'] : ''
      const kind = typeof r['kind'] === 'string' ? r['kind'] : ''
      if (!apiVersion || !kind) continue
      let owner: { resource: string; namespaced: boolean }
      try {
        owner = await this.discovery.resourceForKind(apiVersion, kind)
      } catch (e) {
        if (e instanceof Aborted) throw e
        throw goErr(`error getting resource for gvk ${apiVersion}, Kind=${kind}: ${message(e)}`)
      }
      const ownerName = String(r['name'] ?? '')
      this.log.info(`Getting new UID for ${ownerName} `)
      try {
        const o = await this.api.get(
          kpath(apiVersion, owner.resource, owner.namespaced ? namespace : undefined, ownerName)
        )
        r['uid'] = o.metadata.uid
      } catch (e) {
        if (isNotFound(e) || e instanceof Aborted) throw e
        throw goErr(`error obtaining new UID for ${ownerName}: ${message(e)}`)
      }
    }
  }

  // ---- prune ------------------------------------------------------------------------------

  private async prune(objs: ObjectsFromBackup, deleteTimeoutSeconds: number): Promise<void> {
    const gatherer = new ResourceGatherer(this.guarded(), this.discovery, this.log)
    const selectors: ResourceSelector[] = objs.resourceSet.resourceSelectors ?? []
    const gathered = await gatherer.gather(selectors)
    const toDelete: { name: string; namespace: string; gvr: Gvr }[] = []
    for (const { type, objects } of gathered) {
      for (const o of objects) {
        const objName = o.metadata.name ?? ''
        const ns = o.metadata.namespace ?? ''
        let p = typeDir(type)
        if (type.namespaced) p = `${p}/${ns}`
        const file = `${p}/${objName}.json`
        this.log.info(`resourceFilePath: ${file}`)
        if (!objs.resourcesFromBackup.has(file)) {
          toDelete.push({
            name: objName,
            namespace: ns,
            gvr: { group: type.group, version: type.version, resource: type.name }
          })
        }
      }
    }
    this.log.info(
      `Pruning following resources [${toDelete
        .map(r => `{${r.name} ${r.namespace} {${r.gvr.group} ${r.gvr.version} ${r.gvr.resource}}}`)
        .join(' ')}]`
    )
    try {
      await this.deleteResources(toDelete, false)
    } catch (e) {
      if (e instanceof Aborted) throw e
      this.log.error(`Error pruning resources: ${message(e)}`)
    }
    this.log.info(`Will retry pruning resources by removing finalizers in ${deleteTimeoutSeconds}s`)
    await abortableSleep(deleteTimeoutSeconds * 1000, this.signal)
    this.log.info('Retrying pruning resources by removing finalizers')
    await this.deleteResources(toDelete, true)
  }

  private async deleteResources(
    list: { name: string; namespace: string; gvr: Gvr }[],
    removeFinalizers: boolean
  ): Promise<void> {
    const errs: string[] = []
    for (const r of list) {
      const path = kpath(gvOf(r.gvr), r.gvr.resource, r.namespace || undefined, r.name)
      try {
        if (removeFinalizers) {
          let obj: KubeObject
          try {
            obj = await this.api.get(path)
          } catch (e) {
            if (isNotFound(e) || (e instanceof KubeApiError && e.status === 410)) continue
            throw e
          }
          delete obj.metadata.finalizers
          await this.api.replace(path, obj)
        }
        await this.api.delete(path)
      } catch (e) {
        if (e instanceof Aborted) throw e
        errs.push(message(e))
      }
    }
    const err = errList(errs)
    if (err) throw err
  }
}

function leaseHolder(restore: RestoreObject): string {
  return `${restore.metadata.name ?? ''}:${restore.metadata.uid ?? ''}`
}

/** getCRDsWithSubresourceStatus: `<crd name>/<version>` of versions with a status subresource. */
function crdsWithSubresourceStatus(crd: Obj): string[] {
  const spec = rec(crd['spec'])
  const name = String(rec(crd['metadata'])['name'] ?? '')
  if (spec['subresources'] !== undefined) {
    return 'status' in rec(spec['subresources']) ? [`${name}/${String(spec['version'])}`] : []
  }
  const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : []
  return versions
    .filter(v => 'status' in rec(v['subresources']))
    .map(v => `${name}/${String(v['name'])}`)
}

/** customize(): restore-time fix-ups of the real operator. */
function customize(obj: Obj): void {
  if (obj['kind'] === 'ServiceAccount') {
    delete obj['secrets']
    return
  }
  if (obj['kind'] !== 'Cluster') return
  const apiVersion = obj['apiVersion']
  const spec = rec(obj['spec'])
  if (apiVersion === 'fleet.cattle.io/v1alpha1') {
    const g = spec['redeployAgentGeneration']
    spec['redeployAgentGeneration'] = (typeof g === 'number' ? g : 0) + 1
    obj['spec'] = spec
  } else if (apiVersion === 'provisioning.cattle.io/v1') {
    const g = spec['redeploySystemAgentGeneration']
    spec['redeploySystemAgentGeneration'] = (typeof g === 'number' ? g : 0) + 1
    obj['spec'] = spec
  } else if (apiVersion === 'management.cattle.io/v3') {
    const md = rec(obj['metadata'])
    md['annotations'] = { ...rec(md['annotations']), 'io.cattle.agent.force.deploy': 'true' }
    obj['metadata'] = md
  }
}

// ---------------------------------------------------------------------------------------------
// The behaviour
// ---------------------------------------------------------------------------------------------

function chartNamespaceOf(pod: Pod): string {
  for (const c of pod.spec.containers) {
    const env = (c['env'] as { name: string; value?: string }[] | undefined) ?? []
    const v = env.find(e => e.name === 'CHART_NAMESPACE')?.value
    if (v) return v
  }
  return pod.metadata.namespace ?? DEFAULT_CHART_NAMESPACE
}

/**
 * The behaviour of the operator's pods: matches pods labelled
 * `app.kubernetes.io/name=rancher-backup`; runs the Backup and Restore controllers for the
 * pod's lifetime, logging to the pod's first container.
 */
export function simulatedOperator(opts: SimulatedOperatorOptions): PodBehaviour {
  return {
    name: 'rancher-backup-operator',
    matches: pod =>
      pod.metadata.labels?.[OPERATOR_LABEL] === OPERATOR_LABEL_VALUE &&
      (pod.spec.restartPolicy ?? 'Always') === 'Always',
    async run(pod, log, signal) {
      const image = pod.spec.containers[0]?.image ?? ''
      const op = new Operator(
        opts.api,
        opts,
        chartNamespaceOf(pod),
        operatorVersion(image),
        line => log(line),
        signal
      )
      try {
        return await op.run()
      } catch (e) {
        if (signal.aborted) return 'Succeeded'
        throw e
      }
    }
  }
}
