/**
 * The companion's own commands, as data, built with the command layer's builders in
 * kube/commands.ts (which holds those it shares with the main action: the kube-system UID, Helm
 * history and releases, Deployments, Secrets, the operator's log). Reads and the create are API
 * requests over the run's kubectl proxy, as the main action's; the wait is a `kubectl wait` watch.
 */
import type { Command } from '../kube/command-runner.js'
import { api, group, RESOURCES, waitCommand } from '../kube/commands.js'
import { BACKUP_CRD } from './names.js'

/** The Backup CRD's metadata, or nothing when the operator's CRDs are not installed. */
export const backupCrdExists = (): Command =>
  api('GET', group('apiextensions.k8s.io/v1', undefined, 'customresourcedefinitions', BACKUP_CRD), {
    notFoundEmpty: true,
    metadataOnly: true
  })

/** The ResourceSets (cluster-scoped); fails when their CRD is missing (an answer). */
export const listResourceSets = (): Command =>
  api('GET', group(RESOURCES, undefined, 'resourcesets'), { allowFailure: true })

/** Every Backup: an earlier attempt's is found by its name, labels and spec. */
export const listBackups = (): Command =>
  api('GET', group(RESOURCES, undefined, 'backups'), { allowFailure: true })

export const getBackup = (name: string): Command =>
  api('GET', group(RESOURCES, undefined, 'backups', name))

export const createBackup = (about: string, manifest: string): Command =>
  api('POST', group(RESOURCES, undefined, 'backups'), { stdin: manifest, about })

/**
 * One round of the wait: a watch until the operator marks the Backup Ready=True, at most
 * `timeoutMs`. The step repeats it (reading the Backup between rounds) until the run's deadline.
 */
export const waitBackupReady = (name: string, timeoutMs: number): Command =>
  waitCommand(['wait', `${BACKUP_CRD}/${name}`, '--for=condition=Ready=True'], timeoutMs)
