/**
 * What the operator's controllers share: the API client (refusing to work once the pod is gone),
 * the logger, the version gates (versions.ts), the clock, discovery, the S3 client and the
 * encryption config of the chart namespace. The S3 client follows pkg/objectstore/s3minio.go
 * GetS3Client / SetS3Service at tags v1.2.1 to v11.0.1; setReconcilingCondition's status write
 * pkg/controllers/{backup,restore}/controller.go.
 *
 * Differs from upstream: credentialSecretNamespace defaults to `default` when empty (upstream
 * asks for the Secret in the empty namespace).
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
import { OperatorLogger, rfc3339 } from './log.js'
import { Discovery } from './resources.js'
import { bucketExists } from './s3.js'
import { featuresOf, type OperatorFeatures, type OperatorVersion } from './versions.js'

export interface SimulatedOperatorOptions {
  /** Admin client of the cluster. */
  api: KubeApi
  /** Clock for log lines, file names and status times (default: the real one). */
  now?: () => Date
}

/** redactAccessKeyID (pkg/objectstore/s3minio.go). */
function redactAccessKeyID(key: string): string {
  const mask = '*'.repeat(14)
  return key.length < 20 ? mask : key.slice(0, 5) + mask.slice(5)
}

export type EncryptionSecret = KubeObject & { data?: Record<string, string> }

export class OperatorRuntime {
  readonly log: OperatorLogger
  readonly features: OperatorFeatures
  readonly discovery: Discovery
  kubeSystemUid = ''

  constructor(
    readonly raw: KubeApi,
    readonly opts: SimulatedOperatorOptions,
    readonly chartNamespace: string,
    readonly version: OperatorVersion,
    sink: (line: string) => void,
    readonly signal: AbortSignal
  ) {
    this.log = new OperatorLogger(sink, () => this.now())
    this.features = featuresOf(version)
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

  // ---- shared: encryption, S3 ----------------------------------------------------------------

  /** The encryption config Secret, from the chart namespace only (as upstream hard-codes it). */
  async encryptionSecret(secretName: string): Promise<EncryptionSecret> {
    this.log.info(`Get encryption config from namespace ${this.chartNamespace}`)
    return this.api.get<EncryptionSecret>(kpath('v1', 'secrets', this.chartNamespace, secretName))
  }

  encryptionTransformersFrom(secret: EncryptionSecret): EncryptionTransformers {
    const b64 = secret.data?.[ENCRYPTION_CONFIG_KEY]
    if (b64 === undefined) throw goErr('no encryptionConfig provided')
    return new EncryptionTransformers(Buffer.from(b64, 'base64').toString('utf8'))
  }

  async encryptionTransformers(secretName: string): Promise<EncryptionTransformers> {
    return this.encryptionTransformersFrom(await this.encryptionSecret(secretName))
  }

  /**
   * objectstore.GetS3Client + SetS3Service (pkg/objectstore/s3minio.go): credentials, a TLS client
   * for the location's endpoint (s3.ts), BucketExists; the v2.1.4 transport and the v2.1.2
   * messages are gated in versions.ts.
   */
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
      's3-accessKey': this.features.redactAccessKey ? redactAccessKeyID(accessKey) : accessKey,
      's3-region': s3.region ?? '',
      's3-endpoint-ca': s3.endpointCA ?? '',
      's3-folder': s3.folder ?? '',
      ...(this.features.insecureSkipVerifyWithoutCA
        ? { 'insecure-tls-skip-verify': s3.insecureTLSSkipVerify === true }
        : {})
    })
    if (!accessKey && !secretKey) this.log.info('invoking set s3 service client use IAM role')
    const caPem = s3.endpointCA ? this.readEndpointCA(s3.endpointCA) : ''
    const target: S3Target = {
      scheme: 'https',
      endpoint: s3.endpoint || 's3.amazonaws.com',
      region: s3.region ?? '',
      bucket: s3.bucketName ?? '',
      caPem,
      insecureSkipVerify:
        s3.insecureTLSSkipVerify === true &&
        (caPem !== '' || this.features.insecureSkipVerifyWithoutCA),
      accessKey,
      secretKey
    }
    const newMessages = this.features.s3ErrorsNameBucket
    let found: boolean
    try {
      found = await bucketExists(target)
    } catch (e) {
      throw goErr(
        newMessages
          ? `failed to check if s3 bucket [${target.bucket}] exists, error: ${message(e)}`
          : `failed to check s3 bucket:${target.bucket}, err:${message(e)}`
      )
    }
    if (!found) {
      throw goErr(
        newMessages
          ? `s3 bucket [${target.bucket}] not found`
          : `bucket ${target.bucket} is not found`
      )
    }
    return target
  }

  /**
   * readS3EndpointCA + isValidCertificate: base64 as Go's StdEncoding reads it (strict, newlines
   * ignored), else the value is taken for a file path, which no file in this simulated pod has.
   */
  private readEndpointCA(endpointCA: string): string {
    const b64 = endpointCA.replace(/[\r\n]/g, '')
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) {
      this.log.info(`reading s3-endpoint-ca from [${endpointCA}]`)
      throw goErr(`open ${endpointCA}: no such file or directory`)
    }
    this.log.info('reading s3-endpoint-ca as a base64 string')
    const pem = Buffer.from(b64, 'base64').toString('utf8')
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw goErr('s3-endpoint-ca is not a valid x509 certificate')
    }
    return pem
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
