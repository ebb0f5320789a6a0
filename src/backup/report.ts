/**
 * The companion's report: its outputs and its job summary, as pure functions of one record, in the
 * main action's style and with its renderers (report/summary.ts: every dynamic string escaped).
 */
import type { RestoreCondition } from '../facts/cluster-facts.js'
import type { RunStatus, StepRecord } from '../report/run-report.js'
import {
  capSummary,
  code,
  formatDuration,
  inline,
  logSection,
  OUTCOME,
  planSection,
  restoreSection,
  stepsSection
} from '../report/summary.js'
import type { BackupPlanStep } from './plan.js'

export interface BackupReport {
  status: RunStatus
  /** Error message for failed/refused/cancelled runs (never holds secrets). */
  error: string
  nextStep: string
  dryRun: boolean
  startedAt: Date
  finishedAt: Date | undefined
  /** The Backup this run created or adopted ('' before it is known). */
  backupName: string
  /** Why an existing Backup was waited on instead of a new one ('' when none was). */
  adopted: string
  /** status.filename, once the upload is proven ('' otherwise). */
  filename: string
  rancherVersion: string
  helmRevision: number
  clusterUid: string
  resourceSet: string
  /** `s3://bucket/folder/` */
  location: string
  /** What S3 says of the object. */
  object: { size: number; lastModified: string } | undefined
  conditions: RestoreCondition[]
  operatorLog: string[]
  warnings: string[]
  plan: BackupPlanStep[]
  steps: StepRecord[]
}

export function emptyBackupReport(now = new Date()): BackupReport {
  return {
    status: 'failed',
    error: '',
    nextStep: '',
    dryRun: false,
    startedAt: now,
    finishedAt: undefined,
    backupName: '',
    adopted: '',
    filename: '',
    rancherVersion: '',
    helmRevision: 0,
    clusterUid: '',
    resourceSet: '',
    location: '',
    object: undefined,
    conditions: [],
    operatorLog: [],
    warnings: [],
    plan: [],
    steps: []
  }
}

export const BACKUP_OUTPUT_NAMES = [
  'backup-filename',
  'backup-name',
  'rancher-version',
  'status'
] as const
export type BackupOutputName = (typeof BACKUP_OUTPUT_NAMES)[number]

/**
 * Every output always present; '' when unknown. `backup-filename` only once proven in S3, and
 * `rancher-version` only with a backup (taken, or planned): a refused run took none.
 */
export function buildBackupOutputs(r: BackupReport): Record<BackupOutputName, string> {
  const withBackup = r.status === 'succeeded' || r.status === 'planned'
  return {
    'backup-filename': r.status === 'succeeded' ? r.filename : '',
    'backup-name': r.backupName,
    'rancher-version': withBackup ? r.rancherVersion : '',
    status: r.status
  }
}

export const BACKUP_DOCS_URL =
  'https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/backup-restore-and-disaster-recovery/back-up-rancher'

function heading(r: BackupReport): string {
  const { icon, word } = OUTCOME[r.status]
  const dry = r.dryRun && r.status !== 'planned' ? ' (dry run)' : ''
  const withBackup = r.status === 'succeeded' || r.status === 'planned'
  const of =
    r.rancherVersion === '' || !withBackup ? '' : `: Rancher ${inline(r.rancherVersion, 200)}`
  return `## ${icon} Rancher backup ${word}${dry}${of}`
}

function outcome(r: BackupReport): string {
  const lines: string[] = []
  if (r.status === 'succeeded') {
    lines.push(`**Backup file:** ${code(r.filename)} in ${code(r.location)}`)
    if (r.object) {
      lines.push(
        `**Proven in S3:** ${r.object.size} bytes, last modified ${inline(r.object.lastModified, 100)}; its name carries this cluster's kube-system UID ${code(r.clusterUid)}`
      )
    }
    lines.push(
      `**Roll back to it:** pass ${code(`backup-filename: ${r.filename}`)} to the rollback action (this step's \`backup-filename\` output)`
    )
  } else if (r.status === 'refused') {
    lines.push(`**Refused:** ${inline(r.error || 'no reason recorded')}`)
    if (r.nextStep !== '') lines.push(`**Do this instead:** ${inline(r.nextStep)}`)
  } else if (r.status === 'cancelled') {
    lines.push(`**Cancelled:** ${inline(r.error || 'no detail recorded')}`)
    if (r.nextStep !== '') lines.push(`**Re-run:** ${inline(r.nextStep)}`)
  } else if (r.status === 'failed') {
    lines.push(`**Error:** ${inline(r.error || 'no error message recorded')}`)
    if (r.nextStep !== '') lines.push(`**Next step:** ${inline(r.nextStep)}`)
  } else {
    lines.push(
      '**Dry run:** nothing in the cluster was changed. Re-run with `dry-run: false` to take the backup.'
    )
  }
  if (r.backupName !== '') {
    const adopted = r.adopted === '' ? '' : ` (${inline(r.adopted, 1_000)})`
    lines.push(`**Backup object:** ${code(r.backupName)}${adopted}`)
  }
  if (r.resourceSet !== '') lines.push(`**ResourceSet:** ${code(r.resourceSet)}`)
  if (r.helmRevision > 0)
    lines.push(
      `**Taken from:** Helm revision ${r.helmRevision} (Rancher ${inline(r.rancherVersion, 200)})`
    )
  for (const w of r.warnings) lines.push(`**Warning:** ${inline(w)}`)
  const took =
    r.finishedAt === undefined
      ? ''
      : ` · took ${formatDuration(r.finishedAt.getTime() - r.startedAt.getTime())}`
  lines.push(`<sub>Started ${r.startedAt.toISOString()}${took}</sub>`)
  return lines.join('<br>\n')
}

export function renderBackupSummary(r: BackupReport): string {
  const sections = [
    heading(r),
    outcome(r),
    stepsSection(r.steps),
    r.conditions.length > 0 ? restoreSection(r.backupName, r.conditions, 'Backup') : '',
    planSection(r.plan, r.dryRun || r.status === 'planned'),
    logSection(r.operatorLog),
    `Reference: [Rancher Manager docs: Backing up Rancher](${BACKUP_DOCS_URL})`
  ].filter(s => s !== '')
  return capSummary(`${sections.join('\n\n')}\n`)
}
