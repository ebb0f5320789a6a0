/**
 * Reads everything the decision needs, read-only, independent reads in parallel. The only
 * network call outside kubectl/helm is the S3 check of the backup file.
 */
import type { BackupObjectFacts, ClusterFacts, HelmRevision } from './cluster-facts.js'
import type { CommandRunner } from '../kube/command-runner.js'
import {
  deploymentReady,
  findRelease,
  chartVersionOf,
  operatorFacts,
  parseCredentialSecret,
  parseCrdStoredVersions,
  parseDeployment,
  parseHelmHistory,
  parseHelmList,
  parseHelmMajor,
  parseRke1ClusterNames,
  parseServerVersion,
  parseUid
} from './parsers.js'
import * as cmd from '../kube/commands.js'
import type { HelmMajor } from '../kube/commands.js'
import { parseRestoreList } from './restore-status.js'
import type { S3Object, S3Target } from './s3-client.js'
import {
  folderPrefix,
  objectKey,
  parseHelmTime,
  pickLatestBackup,
  s3Location
} from './backup-selection.js'
import { parseSavedState } from './saved-state.js'
import { settledHistory } from '../decide/decide.js'
import { revisionVersion } from '../decide/versions.js'
import type { Settings } from '../inputs/settings.js'
import {
  BACKUP_DEPLOYMENT,
  BACKUP_NAMESPACE,
  CAPI_CORE_NAMESPACE,
  CAPI_NAMESPACE,
  CAPI_RELEASE,
  TURTLES_NAMESPACE,
  WEBHOOK_RELEASE,
  isCapiCrd
} from '../kube/names.js'

export const S3_TIMEOUT_MS = 30_000

/** The S3 calls, as an interface so component tests can script them. */
export interface S3Reader {
  headObject(t: S3Target, key: string, timeoutMs: number): Promise<S3Object | undefined>
  listObjects(t: S3Target, prefix: string, timeoutMs: number): Promise<S3Object[]>
}

export interface FactsDeps {
  runner: CommandRunner
  s3: S3Reader
  /** core.setSecret: credentials read from the cluster are masked before anything else. */
  mask: (secret: string) => void
}

/**
 * The reading stage: the helm major (its flags differ), from the version the installer verified
 * against its checksum, and the cluster facts.
 */
export async function readCluster(
  settings: Settings,
  helmVersion: string,
  deps: FactsDeps
): Promise<{ helmMajor: HelmMajor; facts: ClusterFacts }> {
  const helmMajor = parseHelmMajor(helmVersion)
  return { helmMajor, facts: await gatherFacts(settings, deps) }
}

async function gatherFacts(settings: Settings, deps: FactsDeps): Promise<ClusterFacts> {
  const { runner } = deps
  const run = async (c: ReturnType<typeof cmd.kubeServerVersion>) => (await runner.run(c)).stdout
  const s3 = settings.s3

  const [
    serverVersion,
    historyResult,
    releaseList,
    deployment,
    crds,
    capiNamespace,
    turtlesNamespace,
    capiCoreNamespace,
    operatorDeployment,
    restoresResult,
    credentialSecret,
    encryptionSecret,
    saved,
    kubeSystemUid,
    rke1
  ] = await Promise.all([
    run(cmd.kubeServerVersion()),
    runner.run(cmd.helmHistory(settings.releaseName, settings.namespace)),
    run(cmd.helmListAll()),
    run(cmd.getDeployment(settings.namespace, settings.releaseName)),
    run(cmd.listCrdStoredVersions()),
    run(cmd.getNamespace(CAPI_NAMESPACE)),
    run(cmd.getNamespace(TURTLES_NAMESPACE)),
    run(cmd.getNamespace(CAPI_CORE_NAMESPACE)),
    run(cmd.getDeployment(BACKUP_NAMESPACE, BACKUP_DEPLOYMENT)),
    runner.run(cmd.listRestores()),
    readCredentialSecret(runner, s3),
    settings.encryptionConfigSecretName === ''
      ? Promise.resolve(undefined)
      : run(cmd.secretExists(BACKUP_NAMESPACE, settings.encryptionConfigSecretName)),
    run(cmd.readSaved()),
    run(cmd.clusterUid()),
    runner.run(cmd.listManagementClusters())
  ])

  const clusterUid = parseUid(kubeSystemUid)
  const record = parseSavedState(saved)?.record
  const interrupted =
    record?.release === settings.releaseName && record.namespace === settings.namespace
      ? record
      : undefined
  const history = historyExists(historyResult) ? parseHelmHistory(historyResult.stdout) : []
  const releases = parseHelmList(releaseList)
  const storedVersions = parseCrdStoredVersions(crds)
  const webhook = findRelease(releases, WEBHOOK_RELEASE, settings.namespace)

  const keys = s3Keys(s3, credentialSecret, deps.mask)

  return {
    kubernetesVersion: parseServerVersion(serverVersion),
    release: { exists: history.length > 0, history },
    deployment: parseDeployment(deployment),
    backupOperator: operatorFacts(releases, storedVersions, deploymentReady(operatorDeployment)),
    capi: {
      ...capiStoredVersions(storedVersions),
      provisioningNamespaceExists: capiNamespace.trim() !== '',
      provisioningReleaseExists: releases.some(r => r.name === CAPI_RELEASE),
      turtlesNamespaces: [
        ...(turtlesNamespace.trim() !== '' ? [TURTLES_NAMESPACE] : []),
        ...(capiCoreNamespace.trim() !== '' ? [CAPI_CORE_NAMESPACE] : [])
      ]
    },
    webhookReleaseExists: webhook !== undefined,
    webhookChartVersion: webhook ? chartVersionOf(webhook.chart, WEBHOOK_RELEASE) : '',
    restores: restoresResult.exitCode === 0 ? parseRestoreList(restoresResult.stdout) : [],
    s3CredentialSecret: {
      namespace: s3.credentialSecretNamespace,
      name: s3.credentialSecretName,
      exists: credentialSecret.trim() !== ''
    },
    encryptionSecret:
      encryptionSecret === undefined
        ? undefined
        : {
            namespace: BACKUP_NAMESPACE,
            name: settings.encryptionConfigSecretName,
            exists: encryptionSecret.trim() !== ''
          },
    interrupted,
    clusterUid,
    // No management CRD (Rancher already deleted) is an answer: no RKE1 clusters to read.
    rke1Clusters: rke1.exitCode === 0 ? parseRke1ClusterNames(rke1.stdout) : [],
    backup: await checkBackup(
      settings,
      history,
      keys,
      deps.s3,
      clusterUid,
      interrupted?.backupFilename
    )
  }
}

/**
 * Every cluster.x-k8s.io CRD counts (clusters, but also ipaddresses.ipam…, clusterclasses…: the
 * 2.14 → 2.13 failures named those), whatever Rancher installed it.
 */
function capiStoredVersions(all: Map<string, string[]>): {
  storedVersions: string[]
  storedVersionsByCrd: Record<string, string[]>
} {
  const byCrd = Object.fromEntries([...all].filter(([name]) => isCapiCrd(name)))
  const union = new Set(Object.values(byCrd).flat())
  return { storedVersions: [...union].sort(), storedVersionsByCrd: byCrd }
}

/**
 * The S3 credential Secret ('' when there is none to read): its data only when the keys must come
 * from it; otherwise presence is enough.
 */
export async function readCredentialSecret(
  runner: CommandRunner,
  s3: Settings['s3']
): Promise<string> {
  if (s3.credentialSecretName === '') return ''
  const ns = s3.credentialSecretNamespace
  const name = s3.credentialSecretName
  const read = s3.accessKey !== '' ? cmd.secretExists(ns, name) : cmd.readSecret(ns, name)
  return (await runner.run(read)).stdout
}

/** The S3 keys: the inputs', else the credential Secret's (masked at once); none without either. */
export function s3Keys(
  s3: Settings['s3'],
  credentialSecret: string,
  mask: (secret: string) => void
): { accessKey: string; secretKey: string } | undefined {
  if (s3.accessKey !== '') return { accessKey: s3.accessKey, secretKey: s3.secretKey }
  if (credentialSecret.trim() === '') return undefined
  const keys = parseCredentialSecret(credentialSecret)
  if (keys) {
    mask(keys.accessKey)
    mask(keys.secretKey)
  }
  return keys
}

/** `helm history` of a missing release exits 1 with "release: not found": an answer, not an error. */
export function historyExists(result: { exitCode: number; stderr: string }): boolean {
  if (result.exitCode === 0) return true
  if (/release: not found/i.test(result.stderr)) return false
  throw new Error(`helm history failed: ${result.stderr.trim().split('\n').slice(-3).join(' ')}`)
}

/**
 * When the current version was first installed: backups taken after it may already hold state
 * written by the version we are leaving.
 */
export function upgradeTime(all: HelmRevision[]): Date | undefined {
  // A failed rollback carries T's version: the upgrade to cut off at is the one before it.
  const history = settledHistory(all).settled
  const newest = history[history.length - 1]
  if (!newest) return undefined
  const current = revisionVersion(newest)
  let first: HelmRevision | undefined
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i]
    if (!r || revisionVersion(r) !== current) break
    first = r
  }
  // The whole history is one version: there was no upgrade to cut off at.
  if (first === history[0]) return undefined
  return first ? parseHelmTime(first.updated) : undefined
}

/** Where the S3 settings point, with the keys: always TLS (the operator speaks nothing else). */
export function s3Target(
  s3: Settings['s3'],
  keys: { accessKey: string; secretKey: string }
): S3Target {
  return {
    scheme: 'https',
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucketName,
    caPem: s3.endpointCA,
    insecureSkipVerify: s3.insecureTLSSkipVerify,
    ...keys
  }
}

async function checkBackup(
  settings: Settings,
  history: HelmRevision[],
  keys: { accessKey: string; secretKey: string } | undefined,
  s3: S3Reader,
  clusterUid: string,
  /** An interrupted run's backup: `latest` cannot be worked out again once Helm history is gone. */
  interruptedBackup = ''
): Promise<BackupObjectFacts> {
  const given = settings.backup.kind === 'file' ? settings.backup.filename : interruptedBackup
  if (!keys) {
    return {
      checked: false,
      filename: given,
      exists: false,
      note: 'No S3 credentials (inputs s3-access-key/s3-secret-key, or a readable credential Secret): the backup could not be checked.'
    }
  }
  const target = s3Target(settings.s3, keys)
  const where = s3Location(settings.s3.bucketName, settings.s3.folder)
  if (given !== '') {
    const found = await s3.headObject(target, objectKey(settings.s3.folder, given), S3_TIMEOUT_MS)
    return {
      checked: true,
      filename: given,
      exists: found !== undefined,
      note: found ? `Found ${where}${given}.` : `${where}${given} does not exist.`
    }
  }
  const objects = await s3.listObjects(target, folderPrefix(settings.s3.folder), S3_TIMEOUT_MS)
  const choice = pickLatestBackup(objects, settings.s3.folder, {
    takenBefore: upgradeTime(history),
    encryptionConfigured: settings.encryptionConfigSecretName !== '',
    clusterUid
  })
  return {
    checked: true,
    filename: choice.filename ?? '',
    exists: choice.filename !== undefined,
    note: `${choice.reason} (in ${where})`
  }
}
