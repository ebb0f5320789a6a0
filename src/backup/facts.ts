/**
 * What the companion reads before it decides, read-only and in parallel: the kube-system UID (the
 * backup file name carries it), the Rancher release (the version the backup is taken from), the
 * backup operator (release, CRD, Deployment readiness, ResourceSets), the Backups already there
 * (an earlier attempt's is adopted), and the Secrets the Backup names.
 */
import type { CommandRunner } from '../kube/command-runner.js'
import * as cmd from '../kube/commands.js'
import { BACKUP_CHART, BACKUP_DEPLOYMENT, BACKUP_NAMESPACE } from '../kube/names.js'
import { asObject, asString } from '../facts/json-fields.js'
import {
  chartVersionOf,
  deploymentReady,
  findRelease,
  parseDeployment,
  parseHelmHistory,
  parseHelmList,
  parseJson,
  parseUid
} from '../facts/parsers.js'
import type { RancherDeploymentFacts, RestoreCondition } from '../facts/cluster-facts.js'
import { interpretRestore, type RestoreState } from '../facts/restore-status.js'
import { revisionVersion } from '../decide/versions.js'
import { historyExists, readCredentialSecret, s3Keys } from '../facts/gather.js'
import * as bcmd from './commands.js'
import type { BackupSettings } from './settings.js'

export interface ExistingBackup {
  name: string
  labels: Record<string, string>
  resourceSetName: string
  encryptionConfigSecretName: string
  /** spec.storageLocation.s3 bucketName / folder / endpoint ('' when unset). */
  bucketName: string
  folder: string
  endpoint: string
  /** The operator's verdict, read as a Restore's (same wrangler conditions): Ready=True "Completed". */
  state: RestoreState
  message: string
  conditions: RestoreCondition[]
  /** status.filename: `<name>-<kube-system UID>-<time>.tar.gz[.enc]`, once uploaded. */
  filename: string
}

export interface BackupFacts {
  clusterUid: string
  release: {
    exists: boolean
    /** Newest revision, whatever its status (0 when none). */
    revision: number
    status: string
    /** Rancher version of that revision ('' when unknown). */
    version: string
  }
  deployment: RancherDeploymentFacts
  operator: {
    releaseExists: boolean
    /** e.g. `103.0.2+up4.0.2` ('' when not installed). */
    chartVersion: string
    backupCrdExists: boolean
    deploymentReady: boolean
  }
  /** undefined when the ResourceSet CRD is missing. */
  resourceSets: string[] | undefined
  backups: ExistingBackup[]
  /** Only when `s3-credential-secret-name` is set. */
  credentialSecretExists: boolean | undefined
  /** Only when `encryption-config-secret-name` is set (in cattle-resources-system). */
  encryptionSecretExists: boolean | undefined
  /** From the inputs, else the credential Secret; undefined when neither gives them. */
  s3Keys: { accessKey: string; secretKey: string } | undefined
}

export async function gatherBackupFacts(
  settings: BackupSettings,
  runner: CommandRunner,
  mask: (secret: string) => void
): Promise<BackupFacts> {
  const out = async (c: ReturnType<typeof cmd.clusterUid>) => (await runner.run(c)).stdout
  const s3 = settings.s3
  const [
    uid,
    historyResult,
    releaseList,
    deployment,
    operatorDeployment,
    crd,
    resourceSets,
    backups,
    credentialSecret,
    encryptionSecret
  ] = await Promise.all([
    out(cmd.clusterUid()),
    runner.run(cmd.helmHistory(settings.releaseName, settings.namespace)),
    out(cmd.helmListAll()),
    out(cmd.getDeployment(settings.namespace, settings.releaseName)),
    out(cmd.getDeployment(BACKUP_NAMESPACE, BACKUP_DEPLOYMENT)),
    out(bcmd.backupCrdExists()),
    runner.run(bcmd.listResourceSets()),
    runner.run(bcmd.listBackups()),
    readCredentialSecret(runner, s3),
    settings.encryptionConfigSecretName === ''
      ? Promise.resolve(undefined)
      : out(cmd.secretExists(BACKUP_NAMESPACE, settings.encryptionConfigSecretName))
  ])

  const history = historyExists(historyResult) ? parseHelmHistory(historyResult.stdout) : []
  const newest = history[history.length - 1]
  const operator = findRelease(parseHelmList(releaseList), BACKUP_CHART, BACKUP_NAMESPACE)

  const keys = s3Keys(s3, credentialSecret, mask)

  return {
    clusterUid: parseUid(uid),
    release: {
      exists: newest !== undefined,
      revision: newest?.revision ?? 0,
      status: newest?.status ?? '',
      version: newest ? (revisionVersion(newest) ?? '') : ''
    },
    deployment: parseDeployment(deployment),
    operator: {
      releaseExists: operator !== undefined,
      chartVersion: operator ? chartVersionOf(operator.chart, BACKUP_CHART) : '',
      backupCrdExists: crd.trim() !== '',
      deploymentReady: deploymentReady(operatorDeployment)
    },
    resourceSets: resourceSets.exitCode === 0 ? namesOf(resourceSets.stdout) : undefined,
    backups: backups.exitCode === 0 ? parseBackupList(backups.stdout) : [],
    credentialSecretExists:
      s3.credentialSecretName === '' ? undefined : credentialSecret.trim() !== '',
    encryptionSecretExists:
      encryptionSecret === undefined ? undefined : encryptionSecret.trim() !== '',
    s3Keys: keys
  }
}

export function parseBackup(item: unknown): ExistingBackup {
  const o = asObject(item)
  const metadata = asObject(o.metadata)
  const spec = asObject(o.spec)
  const location = asObject(asObject(spec.storageLocation).s3)
  const status = interpretRestore(o)
  // interpretRestore's own words for a status with no message name a restore.
  const said = status.conditions.some(c => c.message !== '' && c.message !== 'Retrying')
  const message = said
    ? status.message
    : status.state === 'error'
      ? 'the operator is retrying the backup'
      : 'in progress: the operator writes no status until the backup is uploaded or fails'
  return {
    name: asString(metadata.name),
    labels: Object.fromEntries(
      Object.entries(asObject(metadata.labels)).map(([k, v]) => [k, asString(v)])
    ),
    resourceSetName: asString(spec.resourceSetName),
    encryptionConfigSecretName: asString(spec.encryptionConfigSecretName),
    bucketName: asString(location.bucketName),
    folder: asString(location.folder),
    endpoint: asString(location.endpoint),
    state: status.state,
    message: status.state === 'completed' ? status.message : message,
    conditions: status.conditions,
    filename: asString(asObject(o.status).filename)
  }
}

/** The names in a list (`{"items":[{"metadata":{"name":…}}]}`). */
export function namesOf(text: string): string[] {
  const list = asObject(parseJson(text, 'a list'))
  return (Array.isArray(list.items) ? list.items : [])
    .map(item => asString(asObject(asObject(item).metadata).name))
    .filter(name => name !== '')
}

/** The Backup list (`GET …/backups`, or `kubectl get … -o json`) → the Backups; '' → []. */
export function parseBackupList(text: string): ExistingBackup[] {
  const list = asObject(parseJson(text, 'the Backup list'))
  return Array.isArray(list.items) ? list.items.map(parseBackup) : []
}
