/**
 * Whether the companion may take a backup now, and which Backup it waits on (pure). It refuses
 * when the backup could not serve a rollback (no settled Rancher release to record, no ready
 * operator, a missing ResourceSet or Secret, no S3 keys to prove the upload) and says what to do.
 */
import { BACKUP_DEPLOYMENT, BACKUP_NAMESPACE, OPERATOR_LOG_SELECTOR } from '../kube/names.js'
import type { ExistingBackup, BackupFacts } from './facts.js'
import {
  attemptOf,
  backupLabels,
  REVISION_LABEL,
  VERSION_LABEL,
  type RunIdentity
} from './names.js'
import { defaultResourceSet, installHint } from './resource-set.js'
import type { BackupSettings } from './settings.js'

export type BackupDecision =
  | { kind: 'refuse'; reason: string; instead: string }
  | {
      kind: 'proceed'
      /** The Backup this run waits on: its own, or the earlier attempt's it adopts. */
      name: string
      /** An earlier attempt's Backup (or this attempt's own, created before a retry). */
      adopted: ExistingBackup | undefined
      resourceSetName: string
      /** Why that ResourceSet. */
      resourceSetWhy: string
      rancherVersion: string
      revision: number
      warnings: string[]
    }

const refuse = (reason: string, instead: string): BackupDecision => ({
  kind: 'refuse',
  reason,
  instead
})

export function decideBackup(
  settings: BackupSettings,
  facts: BackupFacts,
  run: RunIdentity,
  ownName: string
): BackupDecision {
  const { release, operator } = facts
  const where = `${settings.namespace}/${settings.releaseName}`
  if (!release.exists) {
    return refuse(
      `There is no Helm release ${where}: there is no Rancher version to back up and roll back to.`,
      "Point 'namespace' and 'release-name' at the Rancher release (helm list -A); a Docker single-node install is backed up by copying its rancher-data volume."
    )
  }
  if (release.version === '') {
    return refuse(
      `Revision ${release.revision} of ${where} names no Rancher version (chart or app version).`,
      'Check helm history of the release.'
    )
  }
  if (release.status !== 'deployed') {
    return refuse(
      `Revision ${release.revision} of ${where} (Rancher ${release.version}) is ${release.status}, not deployed: a backup now would hold a half-upgraded Rancher.`,
      `Finish or roll back the Helm operation first (helm history ${settings.releaseName} -n ${settings.namespace}), then take the backup.`
    )
  }
  if (!operator.releaseExists || !operator.backupCrdExists) {
    const missing = !operator.backupCrdExists
      ? 'the Backup CRD (backups.resources.cattle.io) is missing'
      : `there is no ${BACKUP_DEPLOYMENT} Helm release in ${BACKUP_NAMESPACE}`
    return refuse(
      `The rancher-backup operator is not installed: ${missing}.`,
      installHint(release.version)
    )
  }
  if (!operator.deploymentReady) {
    return refuse(
      `The rancher-backup operator (Deployment ${BACKUP_NAMESPACE}/${BACKUP_DEPLOYMENT}) is not ready: a Backup would not be processed.`,
      `Look at kubectl -n ${BACKUP_NAMESPACE} get pods -l ${OPERATOR_LOG_SELECTOR} and its log, fix it, and run again.`
    )
  }

  let resourceSetName = settings.resourceSetName
  let resourceSetWhy = "input 'resource-set-name'"
  if (resourceSetName === '') {
    const line = defaultResourceSet(operator.chartVersion)
    if (line === undefined) {
      return refuse(
        `The default ResourceSet of rancher-backup chart ${operator.chartVersion || '(unknown version)'} is not known.`,
        "Set input 'resource-set-name' (kubectl get resourcesets.resources.cattle.io)."
      )
    }
    resourceSetName = line
    resourceSetWhy = `the default of rancher-backup chart ${operator.chartVersion}`
  }
  if (!(facts.resourceSets ?? []).includes(resourceSetName)) {
    const have = facts.resourceSets ?? []
    return refuse(
      `ResourceSet ${resourceSetName} (${resourceSetWhy}) does not exist; the cluster has ${have.length === 0 ? 'none' : have.join(', ')}.`,
      "Set input 'resource-set-name' to one of them, or reinstall the rancher-backup chart."
    )
  }

  const s3 = settings.s3
  if (facts.credentialSecretExists === false) {
    return refuse(
      `The S3 credential Secret ${s3.credentialSecretNamespace}/${s3.credentialSecretName} does not exist: the operator could not upload.`,
      `Create it with keys accessKey and secretKey (kubectl -n ${s3.credentialSecretNamespace} create secret generic ${s3.credentialSecretName} --from-file=accessKey=… --from-file=secretKey=…), outside the namespaces rancher-cleanup deletes.`
    )
  }
  if (facts.encryptionSecretExists === false) {
    return refuse(
      `The encryption config Secret ${BACKUP_NAMESPACE}/${settings.encryptionConfigSecretName} does not exist.`,
      "Create it (key encryption-provider-config.yaml) as Rancher's backup docs describe, or leave encryption-config-secret-name empty."
    )
  }
  if (facts.s3Keys === undefined) {
    return refuse(
      'No S3 credentials to prove the backup was uploaded: neither inputs s3-access-key/s3-secret-key nor a readable credential Secret give them.',
      "Pass 's3-access-key' and 's3-secret-key' (from GitHub secrets), or 's3-credential-secret-name' of a Secret this identity may read."
    )
  }
  if (facts.clusterUid === '') {
    return refuse(
      'The kube-system Namespace has no UID: the backup could not be told apart from other clusters.',
      'Check the kubeconfig points at the Rancher local cluster.'
    )
  }

  const wanted = {
    resourceSetName,
    encryptionConfigSecretName: settings.encryptionConfigSecretName,
    bucketName: s3.bucketName,
    folder: s3.folder,
    endpoint: s3.endpoint
  }
  const labels = backupLabels(release.version, release.revision)
  const same = (b: ExistingBackup) =>
    b.resourceSetName === wanted.resourceSetName &&
    b.encryptionConfigSecretName === wanted.encryptionConfigSecretName &&
    b.bucketName === wanted.bucketName &&
    b.folder.replace(/^\/+|\/+$/g, '') === wanted.folder &&
    b.endpoint === wanted.endpoint &&
    b.labels[REVISION_LABEL] === labels[REVISION_LABEL] &&
    b.labels[VERSION_LABEL] === labels[VERSION_LABEL]
  const own = facts.backups.find(b => b.name === ownName)
  if (own !== undefined && !same(own)) {
    return refuse(
      `Backup ${ownName} exists, but was not taken of revision ${release.revision} (Rancher ${release.version}) with these inputs.`,
      `Delete it (kubectl delete backups.resources.cattle.io ${ownName}) or set another 'backup-name-prefix'.`
    )
  }
  // This run's Backups of earlier attempts, newest first: the one taken of this same revision.
  const adopted =
    own ??
    facts.backups
      .map(b => ({ b, attempt: attemptOf(b.name, settings.namePrefix, run) }))
      .filter(x => x.attempt !== undefined && x.attempt < run.attempt && same(x.b))
      .sort((x, y) => (y.attempt ?? 0) - (x.attempt ?? 0))[0]?.b

  const warnings: string[] = []
  if (facts.deployment.exists && facts.deployment.readyReplicas < facts.deployment.replicas) {
    warnings.push(
      `Rancher (Deployment ${where}) has ${facts.deployment.readyReplicas}/${facts.deployment.replicas} replicas ready: the backup holds the state as it is now.`
    )
  }
  return {
    kind: 'proceed',
    name: adopted?.name ?? ownName,
    adopted,
    resourceSetName,
    resourceSetWhy,
    rancherVersion: release.version,
    revision: release.revision,
    warnings
  }
}
