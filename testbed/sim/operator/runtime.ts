/**
 * What the operator's controllers share: the API client (refusing to work once the pod is gone),
 * the logger and its two message styles, the clock, discovery, the S3 client and the encryption
 * config of the chart namespace.
 */
import type { S3Target } from '../../../src/facts/s3-client.js'
import { abortableSleep } from '../../cluster/fake-kubelet.js'
import { kpath, type KubeApi, type KubeObject } from '../../cluster/kube-api.js'
import {
  Conditions,
  RESOURCES_V1,
  type BackupObject,
  type RestoreObject,
  type S3ObjectStore
} from './api-types.js'
import { ENCRYPTION_CONFIG_KEY, EncryptionTransformers } from './crypto.js'
import { Aborted, goErr, isConflict, message } from './helpers.js'
import { OperatorLogger, rfc3339, type LogFields } from './log.js'
import { Discovery } from './resources.js'
import { bucketExists } from './s3.js'

export interface SimulatedOperatorOptions {
  /** Admin client of the cluster. */
  api: KubeApi
  /** Maps a storageLocation's `endpoint` (host[:port]) to the URL the S3 server answers on. */
  s3Endpoint: (endpoint: string) => string
  /** Clock for log lines, file names and status times (default: the real one). */
  now?: () => Date
}

export class OperatorRuntime {
  readonly log: OperatorLogger
  readonly structured: boolean
  readonly mergeLiveVersions: boolean
  readonly customizeObjects: boolean
  readonly discovery: Discovery
  kubeSystemUid = ''

  constructor(
    readonly raw: KubeApi,
    readonly opts: SimulatedOperatorOptions,
    readonly chartNamespace: string,
    readonly version: [number, number, number],
    sink: (line: string) => void,
    readonly signal: AbortSignal
  ) {
    this.log = new OperatorLogger(sink, () => this.now())
    this.structured = version[0] >= 10
    this.mergeLiveVersions = version[0] >= 10
    this.customizeObjects = version[0] >= 3
    this.discovery = new Discovery(this.guarded())
  }

  now(): Date {
    return this.opts.now?.() ?? new Date()
  }

  /** The API client, refusing to work once the pod is gone (the process would be dead). */
  get api(): KubeApi {
    if (this.signal.aborted) throw new Aborted('the operator pod was stopped')
    return this.raw
  }

  guarded(): KubeApi {
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
  say(
    level: 'info' | 'warn' | 'error',
    printf: string,
    structured?: string,
    fields?: LogFields
  ): void {
    if (this.structured && structured !== undefined) this.log.log(level, structured, fields)
    else this.log.log(level, printf)
  }

  // ---- shared: encryption, S3 ----------------------------------------------------------------

  async encryptionTransformers(secretName: string): Promise<EncryptionTransformers> {
    this.log.info(`Get encryption config from namespace ${this.chartNamespace}`)
    const secret = await this.api.get<KubeObject & { data?: Record<string, string> }>(
      kpath('v1', 'secrets', this.chartNamespace, secretName)
    )
    const b64 = secret.data?.[ENCRYPTION_CONFIG_KEY]
    if (b64 === undefined) throw goErr('no encryptionConfig provided')
    return new EncryptionTransformers(Buffer.from(b64, 'base64').toString('utf8'))
  }

  /** objectstore.GetS3Client + SetS3Service: credentials, client, BucketExists. */
  async s3Client(s3: S3ObjectStore): Promise<S3Target> {
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

  /**
   * The status write of both controllers' setReconcilingCondition: Reconciling=False reason Error
   * with the error's message, Ready "Retrying"; a failed write fails with both messages.
   */
  async writeReconcilingError(
    resource: 'backups' | 'restores',
    name: string,
    errMsg: string
  ): Promise<void> {
    try {
      await this.retryOnConflict(async () => {
        const fresh = await this.api.get<BackupObject | RestoreObject>(
          kpath(RESOURCES_V1, resource, undefined, name)
        )
        const conditions = fresh.status?.conditions ?? []
        const c = new Conditions(conditions, rfc3339(this.now()))
        c.setStatus('Reconciling', 'True')
        c.setError('Reconciling', errMsg)
        c.message('Ready', 'Retrying')
        fresh.status = { ...(fresh.status ?? {}), conditions }
        await this.api.replace(kpath(RESOURCES_V1, resource, undefined, name, 'status'), fresh)
      })
    } catch (e) {
      if (e instanceof Aborted) throw e
      throw goErr(errMsg + message(e))
    }
  }

  /** client-go's retry.RetryOnConflict(retry.DefaultRetry, …): 5 tries, 10 ms apart. */
  async retryOnConflict(f: () => Promise<void>): Promise<void> {
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
}
