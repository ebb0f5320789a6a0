/**
 * The companion's own kubectl commands, as data (built with the command layer's builders in
 * kube/commands.ts, which holds the ones it shares with the main action: the kube-system UID, Helm
 * history and releases, Deployments, Secrets, the operator's log).
 */
import type { Command } from '../kube/command-runner.js'
import { createFromStdin, kubectlRead, waitCommand } from '../kube/commands.js'
import { BACKUP_CRD, RESOURCE_SET_CRD } from './names.js'

/** The operator's CRDs: `backups.resources.cattle.io` names itself when installed. */
export const backupCrdExists = (): Command =>
  kubectlRead(['get', 'crd', BACKUP_CRD, '-o', 'name', '--ignore-not-found'])

/** Names of the ResourceSets (cluster-scoped); fails when the CRD is missing (an answer). */
export const listResourceSets = (): Command =>
  kubectlRead(['get', RESOURCE_SET_CRD, '-o', 'jsonpath={.items[*].metadata.name}'], {
    allowFailure: true
  })

/** Every Backup: an earlier attempt's is found by its name and labels. */
export const listBackups = (): Command =>
  kubectlRead(['get', BACKUP_CRD, '-o', 'json'], { allowFailure: true })

export const getBackup = (name: string): Command =>
  kubectlRead(['get', BACKUP_CRD, name, '-o', 'json'])

export const createBackup = (about: string, manifest: string): Command =>
  createFromStdin(about, manifest)

/**
 * One round of the wait: a watch until the operator marks the Backup Ready=True, at most
 * `timeoutMs`. The step repeats it (reading the Backup between rounds) until the run's deadline.
 */
export const waitBackupReady = (name: string, timeoutMs: number): Command =>
  waitCommand(['wait', `${BACKUP_CRD}/${name}`, '--for=condition=Ready=True'], timeoutMs)
