/**
 * The exact rancher-backup chart version the cleanup path installs, resolved read-only before
 * planning so the plan names it: the input when exact, else the newest chart in the line that
 * matches the target Rancher minor.
 */
import { load } from 'js-yaml'
import { Refusal } from '../decide/choose.js'
import type { ProceedDecision } from '../decide/decide.js'
import { backupChartRange, exactVersion } from '../decide/versions.js'
import type { Settings } from '../inputs/settings.js'
import type { CommandRunner } from '../kube/command-runner.js'
import * as cmd from '../kube/commands.js'
import { BACKUP_CHART } from '../kube/names.js'

/** '' on the paths that install no chart; a chart the repository does not have is a refusal. */
export async function resolveBackupChartVersion(
  runner: CommandRunner,
  settings: Settings,
  decision: ProceedDecision
): Promise<string> {
  if (decision.procedure !== 'cleanup-and-reinstall') return ''
  const wanted = settings.backupChartVersion || backupChartRange(decision.to)
  const exact = exactVersion(wanted)
  if (exact !== undefined) return exact
  const out = await runner.run({
    ...cmd.helmShowChart(settings.backupChartRepo, BACKUP_CHART, wanted),
    allowFailure: true
  })
  const version =
    out.exitCode === 0 ? (load(out.stdout) as { version?: unknown } | null)?.version : undefined
  if (typeof version !== 'string') {
    const why = out.stderr.trim().split('\n').pop() ?? ''
    throw new Refusal(
      `No ${BACKUP_CHART} chart in ${settings.backupChartRepo} matches ${wanted}${why ? ` (${why})` : ''}; nothing was changed.`,
      `Set backup-chart-version to a version from: helm search repo rancher-charts/${BACKUP_CHART} --versions`
    )
  }
  return version
}
