/**
 * The companion's plan (pure): the Backup manifest and every command the run may issue, step by
 * step. A dry run reports exactly this; the real run executes from it.
 */
import type { Command } from '../kube/command-runner.js'
import { describeCommand } from '../kube/command-runner.js'
import * as cmd from '../kube/commands.js'
import { restoreS3Location, type RestoreS3Location } from '../kube/manifests.js'
import { objectKey, s3Location } from '../facts/backup-selection.js'
import type { BackupDecision } from './decide.js'
import * as bcmd from './commands.js'
import { backupLabels } from './names.js'
import type { BackupSettings } from './settings.js'

/** One round of the wait: a watch this long, then a read of the Backup. */
export const WAIT_ROUND_MS = 20_000
/** Operator lines shown when the Backup does not complete. */
export const OPERATOR_LOG_LINES = 200

export type ProceedBackup = Extract<BackupDecision, { kind: 'proceed' }>

export interface BackupObject {
  apiVersion: 'resources.cattle.io/v1'
  kind: 'Backup'
  metadata: { name: string; labels: Record<string, string> }
  spec: {
    resourceSetName: string
    storageLocation: { s3: RestoreS3Location }
    encryptionConfigSecretName?: string
  }
}

/**
 * A one-time Backup (no `schedule`): backup-restore-operator pkg/apis/resources.cattle.io/v1
 * backup.go BackupSpec; the S3 location is the Restore's (the same `StorageLocation` type), so the
 * rollback restores from where this wrote. Access keys never appear here.
 */
export function backupManifest(settings: BackupSettings, d: ProceedBackup): BackupObject {
  const spec: BackupObject['spec'] = {
    resourceSetName: d.resourceSetName,
    storageLocation: { s3: restoreS3Location(settings.s3) }
  }
  if (settings.encryptionConfigSecretName !== '')
    spec.encryptionConfigSecretName = settings.encryptionConfigSecretName
  return {
    apiVersion: 'resources.cattle.io/v1',
    kind: 'Backup',
    metadata: { name: d.name, labels: backupLabels(d.rancherVersion, d.revision) },
    spec
  }
}

export interface BackupCommands {
  /** Absent when an earlier attempt's Backup is adopted. */
  create: Command | undefined
  wait: Command
  read: Command
  operatorLog: Command
}

export function backupCommands(
  settings: BackupSettings,
  d: ProceedBackup,
  waitRoundMs = WAIT_ROUND_MS
): BackupCommands {
  const manifest = backupManifest(settings, d)
  return {
    create: d.adopted
      ? undefined
      : bcmd.createBackup(
          `Backup ${d.name} (one-time, ResourceSet ${d.resourceSetName}${settings.encryptionConfigSecretName ? ', encrypted' : ''})`,
          JSON.stringify(manifest)
        ),
    wait: bcmd.waitBackupReady(d.name, waitRoundMs),
    read: bcmd.getBackup(d.name),
    operatorLog: cmd.operatorLogs(OPERATOR_LOG_LINES)
  }
}

export type BackupStepId = 'create-backup' | 'wait-backup' | 'prove-upload'

export interface BackupPlanStep {
  id: BackupStepId
  title: string
  mutating: boolean
  /** As the log and the summary show them. */
  commands: string[]
}

/** `S3 HEAD s3://bucket/folder/<filename>`: the proof, with the name known only at run time. */
export function s3Proof(settings: BackupSettings, filename: string): string {
  const key = objectKey(settings.s3.folder, filename)
  return `S3 HEAD ${s3Location(settings.s3.bucketName, '')}${key} (https://${settings.s3.endpoint})`
}

export function buildBackupPlan(
  settings: BackupSettings,
  d: ProceedBackup,
  clusterUid: string
): BackupPlanStep[] {
  const c = backupCommands(settings, d)
  const where = s3Location(settings.s3.bucketName, settings.s3.folder)
  const filePattern = `${d.name}-${clusterUid}-<time>.tar.gz${settings.encryptionConfigSecretName ? '.enc' : ''}`
  const steps: BackupPlanStep[] = []
  if (c.create) {
    steps.push({
      id: 'create-backup',
      title: `Create Backup ${d.name} of Rancher ${d.rancherVersion} (ResourceSet ${d.resourceSetName}) to ${where}`,
      mutating: true,
      commands: [describeCommand(c.create)]
    })
  }
  steps.push({
    id: 'wait-backup',
    title: d.adopted
      ? `Wait for Backup ${d.name}, which an earlier attempt of this run created, to be Ready=True "Completed" (no new Backup)`
      : `Wait for Backup ${d.name} to be Ready=True "Completed"`,
    mutating: false,
    commands: [
      `${describeCommand(c.wait)}   # repeated until Ready, within 'timeout'`,
      describeCommand(c.read),
      `${describeCommand(c.operatorLog)}   # only if it does not complete`
    ]
  })
  steps.push({
    id: 'prove-upload',
    title: `Prove the file the operator names is in ${where}, named ${filePattern} (this cluster's kube-system UID)`,
    mutating: false,
    commands: [s3Proof(settings, filePattern)]
  })
  return steps
}
