/**
 * The name of the Backup the companion creates, and the labels it carries. A re-run of the same
 * workflow run must find the Backup an earlier attempt created rather than take a second one, so
 * the name is deterministic: `<prefix>-<run id>-<attempt>` (run ids are unique per GitHub server;
 * GITHUB_RUN_ATTEMPT "increments with each re-run"). An earlier attempt's Backup is adopted only
 * while the release it was taken from is unchanged (facts.ts `adoptable`); after an upgrade or a
 * rollback went through, the re-run takes a new one under its own attempt's name.
 */
import { labelValue, MANAGED_BY_LABELS, stamp } from '../kube/names.js'

export const BACKUP_CRD = 'backups.resources.cattle.io'
export const RESOURCE_SET_CRD = 'resourcesets.resources.cattle.io'

/** On the Backup: the release revision and Rancher version it was taken from. */
export const REVISION_LABEL = 'rancher-rollback/helm-revision'
export const VERSION_LABEL = 'rancher-rollback/rancher-version'

export interface RunIdentity {
  /** GITHUB_RUN_ID; '' outside GitHub Actions. */
  runId: string
  /** GITHUB_RUN_ATTEMPT (1 when unset). */
  attempt: number
}

export function runIdentity(env: NodeJS.ProcessEnv = process.env): RunIdentity {
  const runId = /^\d{1,20}$/.test(env.GITHUB_RUN_ID ?? '') ? (env.GITHUB_RUN_ID ?? '') : ''
  const attempt = Number(env.GITHUB_RUN_ATTEMPT ?? '1')
  return { runId, attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1 }
}

/**
 * `pre-upgrade-123456789-1` in a workflow run; `pre-upgrade-20261124t080000` outside one (a local
 * run has no identity to find again).
 */
export function backupName(prefix: string, run: RunIdentity, now: Date): string {
  return run.runId === '' ? `${prefix}-${stamp(now)}` : `${prefix}-${run.runId}-${run.attempt}`
}

/** The attempt of this run a Backup name belongs to, or undefined when it is not this run's. */
export function attemptOf(name: string, prefix: string, run: RunIdentity): number | undefined {
  if (run.runId === '') return undefined
  const head = `${prefix}-${run.runId}-`
  if (!name.startsWith(head)) return undefined
  const rest = name.slice(head.length)
  return /^[1-9]\d{0,5}$/.test(rest) ? Number(rest) : undefined
}

export function backupLabels(rancherVersion: string, revision: number): Record<string, string> {
  return {
    ...MANAGED_BY_LABELS,
    [VERSION_LABEL]: labelValue(rancherVersion).slice(0, 63),
    [REVISION_LABEL]: String(revision)
  }
}
