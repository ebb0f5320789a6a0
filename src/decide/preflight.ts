/**
 * Preconditions of the chosen procedure, checked against the gathered facts before
 * anything changes. Pure: the first failed precondition refuses, with what to do instead;
 * things that cannot be proven but need not block are warnings.
 */
import type { ClusterFacts, RestoreFacts } from '../facts/cluster-facts.js'
import { describeCleanupScope, isDeletedByCleanup } from './cleanup-scope.js'
import { settledHistory, type ProceedDecision } from './decide.js'
import type { Settings } from '../inputs/settings.js'
import { backupChartRange, toHelmVersionConstraint } from './versions.js'
import { parseBackupFilename, s3Location } from '../facts/backup-selection.js'
import { BACKUP_NAMESPACE, restoreLabels, restorePrefix } from '../kube/names.js'

const USAGE_GUIDE =
  'https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/backup-restore-and-disaster-recovery/back-up-restore-usage-guide'
const MIGRATION_DOC =
  'https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/backup-restore-and-disaster-recovery/migrate-rancher-to-new-cluster'

export type PreflightResult =
  | { ok: true; warnings: string[] }
  | { ok: false; reason: string; instead: string; warnings: string[] }

/** The backup file the Restore will use: the one given, or the one picked for `latest`. */
function chosenBackupFile(facts: ClusterFacts, settings: Settings): string {
  if (facts.backup.filename !== '') return facts.backup.filename
  return settings.backup.kind === 'file' ? settings.backup.filename : ''
}

function backupOperatorInstructions(currentVersion: string, settings: Settings): string {
  let version: string
  try {
    version =
      settings.backupChartVersion !== ''
        ? settings.backupChartVersion
        : toHelmVersionConstraint(backupChartRange(currentVersion))
  } catch {
    version = '<the chart line of your Rancher minor>'
  }
  const repo = settings.backupChartRepo
  return (
    `Install the rancher-backup operator for Rancher ${currentVersion} from ${repo}: ` +
    `\`helm repo add rancher-charts ${repo}\`, ` +
    `\`helm install rancher-backup-crd rancher-charts/rancher-backup-crd -n ${BACKUP_NAMESPACE} --create-namespace --version '${version}' --wait\`, ` +
    `then \`helm install rancher-backup rancher-charts/rancher-backup -n ${BACKUP_NAMESPACE} --version '${version}' --wait\` ` +
    `(same version for both; \`helm search repo rancher-charts/rancher-backup --versions\` lists them), and run this action again.`
  )
}

/** The Restore's S3 credential Secret is missing and the keys to create it were given. */
export function createsCredentialSecret(settings: Settings, facts: ClusterFacts): boolean {
  const { s3 } = settings
  return (
    s3.credentialSecretName !== '' &&
    !facts.s3CredentialSecret.exists &&
    s3.accessKey !== '' &&
    s3.secretKey !== ''
  )
}

/**
 * A Restore onto a running Rancher (in-place, restore-only) goes without rancher-webhook unless
 * the user keeps it: the webhook denies restored objects (steps/remove-webhook.ts). After cleanup
 * there is no webhook to remove.
 */
export function removesWebhook(decision: ProceedDecision, settings: Settings): boolean {
  return decision.procedure !== 'cleanup-and-reinstall' && !settings.keepRancherWebhook
}

/**
 * A Restore this action created for this move (its name and its labels say so) from the backup
 * being restored. The operator never reconciles a Restore again once it set restoreCompletionTs
 * and retries an unfinished one until it completes (backup-restore-operator
 * pkg/controllers/restore/controller.go OnRestoreChange, setReconcilingCondition), so waiting on
 * one still in flight is the same as creating it again, without a second Restore queued behind it.
 */
export function isOurRestore(
  r: RestoreFacts,
  decision: Pick<ProceedDecision, 'from' | 'to'>,
  backupFilename: string
): boolean {
  const labels = restoreLabels(decision.from, decision.to)
  return (
    backupFilename !== '' &&
    r.backupFilename === backupFilename &&
    r.name.startsWith(restorePrefix(decision.from, decision.to)) &&
    Object.entries(labels).every(([k, v]) => r.labels[k] === v)
  )
}

/**
 * The unfinished Restore a re-run waits on instead of creating one: the only unfinished Restore,
 * and ours. On the cleanup path only when resuming (the saved state proves cleanup ran before it;
 * plan.ts then does not run cleanup again over it).
 */
export function adoptableRestore(
  decision: ProceedDecision,
  facts: ClusterFacts
): RestoreFacts | undefined {
  const unfinished = facts.restores.filter(r => r.inProgress)
  const only = unfinished.length === 1 ? unfinished[0] : undefined
  if (only === undefined || !isOurRestore(only, decision, facts.backup.filename)) return undefined
  if (decision.procedure === 'cleanup-and-reinstall' && !resumesAfterCleanup(facts)) {
    return undefined
  }
  return only
}

/** An interrupted cleanup-and-reinstall whose release is gone: cleanup ran. */
function resumesAfterCleanup(facts: ClusterFacts): boolean {
  return facts.interrupted !== undefined && !facts.release.exists
}

/**
 * Checks, in order: Helm release state; allow-downtime (cleanup); prune (in-place, restore-only);
 * the backup operator (in-place, restore-only); no unfinished Restore; the backup file and that it
 * is this cluster's; encryption; the S3 credential Secret; for cleanup, that the Secret survives
 * cleanup. Warnings: unproven backup (in-place,
 * restore-only), rancher-webhook (in-place), encryption secret given for a plain backup.
 */
export function preflight(
  decision: ProceedDecision,
  facts: ClusterFacts,
  settings: Settings
): PreflightResult {
  const warnings: string[] = []
  const refuse = (reason: string, instead: string): PreflightResult => ({
    ok: false,
    reason,
    instead,
    warnings
  })
  const cleanup = decision.procedure === 'cleanup-and-reinstall'
  const release = settings.releaseName
  const ns = settings.namespace

  // 1. A release helm cannot act on: an install that never completed.
  const history = [...facts.release.history].sort((a, b) => a.revision - b.revision)
  const newest = history.at(-1)
  const everDeployed = history.some(r => r.status === 'deployed' || r.status === 'superseded')
  // Resuming our own reinstall: helm-install recovers the revision it left pending.
  const ownInstall = cleanup && facts.interrupted?.to === decision.to
  if (newest !== undefined && newest.status === 'pending-install' && !everDeployed && !ownInstall) {
    return refuse(
      `Helm release ${release} in ${ns} is pending-install (revision ${newest.revision}) and was never deployed: there is no earlier installed version to return to, and helm refuses to act on a release while an install is pending.`,
      `Wait for the running \`helm install\` to finish. If it was interrupted, remove the stuck release (\`helm uninstall ${release} -n ${ns}\`) and install the Rancher version you want.`
    )
  }

  // A rollback that did not finish leaves the release at neither version, and a pending revision
  // blocks every later helm upgrade; restore-only makes no Helm change to clear either.
  const { settled, attempts } = settledHistory(history)
  const lastRan = settled.filter(r => r.status === 'deployed' || r.status === 'superseded').at(-1)
  if (decision.procedure === 'restore-only' && newest !== undefined) {
    const stuck =
      attempts.length > 0
        ? `revision ${newest.revision} is a helm rollback that did not finish (${newest.status}: "${newest.description}")`
        : newest.status.startsWith('pending-')
          ? `revision ${newest.revision} is ${newest.status}: a Helm operation was interrupted, and Helm refuses further upgrades until a rollback clears it`
          : ''
    if (stuck !== '') {
      return refuse(
        `Release ${release} in ${ns} is not settled at ${decision.to}: ${stuck}. restore-only makes no Helm change, so Helm would stay so.`,
        `Roll back with Helm first (\`helm rollback ${release} ${lastRan?.revision ?? '<last deployed revision>'} -n ${ns} --wait\`) or give the target-version that rollback was going to, then run this action again.`
      )
    }
  }

  // 2. Cleanup deletes Rancher: the caller must accept the downtime.
  if (cleanup && !settings.allowDowntime) {
    return refuse(
      `Rolling back from ${decision.from} to ${decision.to} needs cleanup-and-reinstall (${decision.rule}). rancher-cleanup deletes Rancher and everything it created on the local cluster: the cattle-system deployments and Helm releases, all cattle.io and cluster.x-k8s.io objects and CRDs, Rancher's webhooks, cluster roles and APIServices, and the namespaces ${describeCleanupScope()}. Rancher is down until the Restore and the reinstall finish.`,
      'Set `allow-downtime: true` to accept the downtime (and run with `dry-run: true` first to review the plan), or schedule the rollback in a maintenance window.'
    )
  }

  // 3. A Restore onto a running Rancher needs prune: the backup usage guide supports restoring a
  // cluster with Rancher running only from its own backup and with prune enabled; without it,
  // objects created after the backup survive next to the restored ones.
  if (!cleanup && !settings.prune) {
    return refuse(
      `prune: false restores onto a running Rancher, which Rancher's backup usage guide does not support (${USAGE_GUIDE}): objects created after the backup would survive next to the restored state.`,
      'Set `prune: true` (the default). The cleanup-and-reinstall procedure restores with prune: false because rancher-cleanup has removed Rancher first.'
    )
  }

  // 4. In-place and restore-only apply a Restore with the operator that is already installed.
  if (!cleanup) {
    const op = facts.backupOperator
    const missing: string[] = []
    if (!op.releaseExists) missing.push(`no Helm release rancher-backup in ${BACKUP_NAMESPACE}`)
    if (!op.restoreCrdExists) missing.push('CRD restores.resources.cattle.io is missing')
    if (op.releaseExists && !op.deploymentReady) {
      missing.push(`Deployment rancher-backup in ${BACKUP_NAMESPACE} is not ready`)
    }
    if (missing.length > 0) {
      return refuse(
        `The ${decision.procedure} procedure restores with the rancher-backup operator, which is not usable: ${missing.join('; ')}.`,
        op.releaseExists && op.restoreCrdExists
          ? `Check the operator: \`kubectl -n ${BACKUP_NAMESPACE} get pods\` and \`kubectl -n ${BACKUP_NAMESPACE} logs -l app.kubernetes.io/name=rancher-backup\`. If it cannot be fixed: ${backupOperatorInstructions(decision.from, settings)}`
          : backupOperatorInstructions(decision.from, settings)
      )
    }
  }

  // 5. One Restore at a time; an erroring Restore is retried forever. An earlier run's own
  // Restore for this move and backup is waited on instead (adoptableRestore).
  const adopted = adoptableRestore(decision, facts)
  const unfinished = facts.restores.filter(r => r.inProgress && r !== adopted)
  if (adopted !== undefined) {
    const error = adopted.conditions.find(c => c.status === 'False' && c.message !== '')
    if (error !== undefined) {
      warnings.push(
        `Restore ${adopted.name}, which an earlier run created for this move, reports ${error.type}: ${error.message}. The operator retries it: this run waits on it up to restore-timeout and, if it does not complete, reports its conditions and the operator's log.`
      )
    }
  }
  const first = unfinished[0]
  if (first !== undefined) {
    const names = unfinished.map(r => r.name).join(', ')
    const condition = first.conditions.find(c => c.status === 'False' && c.message !== '')
    return refuse(
      `Restore ${names} has not completed${condition === undefined ? '' : ` (${condition.type}: ${condition.message})`}: the backup-restore operator works on one Restore at a time and retries an erroring one forever, so a new Restore would not run.`,
      `Read its conditions (\`kubectl get restore ${first.name} -o jsonpath='{.status.conditions}'\`) and the operator's log (\`kubectl -n ${BACKUP_NAMESPACE} logs -l app.kubernetes.io/name=rancher-backup\`), then delete it (\`kubectl delete restore ${first.name}\`) and run this action again.`
    )
  }

  // 6. The backup file.
  const location = s3Location(settings.s3.bucketName, settings.s3.folder)
  if (settings.backup.kind === 'latest' && facts.backup.filename === '') {
    return refuse(
      `backup-filename: latest found no backup to restore in ${location}: ${facts.backup.note || 'no candidate'}.`,
      facts.backup.checked
        ? `Check the bucket, folder and region inputs, or give backup-filename explicitly (a backup taken before the upgrade to ${decision.from}).`
        : 'Give s3-access-key and s3-secret-key (or a readable credential Secret) so the backups can be listed, or give backup-filename explicitly.'
    )
  }
  const file = chosenBackupFile(facts, settings)
  if (facts.backup.checked && !facts.backup.exists) {
    return refuse(
      `Backup ${file} was not found in ${location}${facts.backup.note === '' ? '' : `: ${facts.backup.note}`}.`,
      'Check backup-filename (relative to the folder), s3-bucket-name, s3-folder, s3-region and s3-endpoint, or use `backup-filename: latest`.'
    )
  }
  if (!facts.backup.checked) {
    if (cleanup) {
      return refuse(
        `Cannot prove that backup ${file} exists in ${location} (no S3 credentials to read it), and cleanup deletes Rancher: the backup must be proven to exist first.`,
        `Give s3-access-key and s3-secret-key, or a readable credential Secret (s3-credential-secret-name in s3-credential-secret-namespace, keys accessKey and secretKey).`
      )
    }
    warnings.push(
      `Cannot prove that backup ${file} exists in ${location} (no S3 credentials to read it); if it does not, the Restore will retry until the restore timeout.`
    )
  }

  // 7. The backup belongs to this cluster: its name carries the kube-system UID it was taken on.
  const owner = parseBackupFilename(file)?.clusterUid
  if (
    file !== '' &&
    owner !== facts.clusterUid.toLowerCase() &&
    !settings.allowOtherClusterBackup
  ) {
    return refuse(
      owner === undefined
        ? `Backup ${file} is not named like a rancher-backup file (<name>-<kube-system UID>-<time>.tar.gz), so it cannot be proven to be a backup of this cluster (kube-system UID ${facts.clusterUid}).`
        : `Backup ${file} was taken on another cluster (kube-system UID ${owner}; this cluster's is ${facts.clusterUid}). Restoring it${decision.procedure === 'cleanup-and-reinstall' ? '' : ' with prune'} would replace this cluster's Rancher state with the other cluster's: that is a migration, not a rollback (the backup usage guide: a cluster with Rancher running can only be restored from a backup of that same cluster).`,
      `Choose a backup of this cluster (its name contains ${facts.clusterUid}), or \`backup-filename: latest\`. To migrate another cluster's Rancher state here on purpose, follow ${MIGRATION_DOC}, or set \`allow-other-cluster-backup: true\`.`
    )
  }

  // 8. Encryption.
  if (file.endsWith('.enc') && settings.encryptionConfigSecretName === '') {
    return refuse(
      `Backup ${file} is encrypted (.enc) and encryption-config-secret-name is not set: the operator cannot decrypt it.`,
      `Set encryption-config-secret-name to the Secret in ${BACKUP_NAMESPACE} (key encryption-provider-config.yaml) that the Backup was taken with.`
    )
  }
  if (settings.encryptionConfigSecretName !== '') {
    const secret = facts.encryptionSecret
    if (secret !== undefined && !secret.exists) {
      return refuse(
        `Encryption config Secret ${secret.namespace}/${secret.name} does not exist: the Restore would retry forever.`,
        `Create it in ${BACKUP_NAMESPACE} with the key encryption-provider-config.yaml holding the encryption configuration the Backup was taken with, or fix encryption-config-secret-name.`
      )
    }
    if (file !== '' && !file.endsWith('.enc')) {
      warnings.push(
        `encryption-config-secret-name is set but backup ${file} is not encrypted (.enc): the Secret is not needed.`
      )
    }
  }

  // 9. The S3 credential Secret the Restore reads.
  if (
    settings.s3.credentialSecretName !== '' &&
    !facts.s3CredentialSecret.exists &&
    !createsCredentialSecret(settings, facts)
  ) {
    return refuse(
      `S3 credential Secret ${settings.s3.credentialSecretNamespace}/${settings.s3.credentialSecretName} does not exist and no access keys were given: the Restore could not read ${location}.`,
      `Create the Secret (keys accessKey and secretKey) in ${settings.s3.credentialSecretNamespace}, or give s3-access-key and s3-secret-key so the action creates it.`
    )
  }

  // 10. Cleanup must not delete what the Restore needs after it.
  if (
    cleanup &&
    settings.s3.credentialSecretName !== '' &&
    isDeletedByCleanup(settings.s3.credentialSecretNamespace)
  ) {
    return refuse(
      `S3 credential Secret ${settings.s3.credentialSecretNamespace}/${settings.s3.credentialSecretName} lives in a namespace that rancher-cleanup deletes, so the Restore after cleanup could not read the backup.`,
      `Move the Secret to a namespace cleanup keeps, e.g. \`default\` (copy it there and set s3-credential-secret-namespace: default).`
    )
  }

  // Warnings.
  if (
    decision.procedure !== 'cleanup-and-reinstall' &&
    settings.keepRancherWebhook &&
    facts.webhookReleaseExists
  ) {
    warnings.push(
      `rancher-webhook${facts.webhookChartVersion === '' ? '' : ` ${facts.webhookChartVersion}`} stays running through the Restore (keep-rancher-webhook: true); it may deny restored objects (backup-restore-operator#844), and the Restore then retries until restore-timeout. If the operator log shows "admission webhook … denied the request", run again without keep-rancher-webhook.`
    )
  }

  return { ok: true, warnings }
}
