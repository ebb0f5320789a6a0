/**
 * What a plan must know exactly and only the chosen procedure tells which to read: the
 * rancher-backup chart version the cleanup path installs, and the replicas the target revision of
 * Rancher runs with. Read-only, after the decision and before planning, so the plan names them.
 */
import { load } from 'js-yaml'
import { Refusal } from '../decide/choose.js'
import type { ProceedDecision } from '../decide/decide.js'
import { backupChartRange, exactVersion } from '../decide/versions.js'
import type { Settings } from '../inputs/settings.js'
import type { CommandRunner } from '../kube/command-runner.js'
import * as cmd from '../kube/commands.js'
import { BACKUP_CHART } from '../kube/names.js'
import type { ClusterFacts } from './cluster-facts.js'
import { deploymentReplicas } from './parsers.js'

export interface PlanFacts {
  backupChartVersion: string
  /** spec.replicas of the Rancher Deployment in the target revision; 0 on the cleanup path. */
  rancherReplicas: number
}

export async function readPlanFacts(
  runner: CommandRunner,
  settings: Settings,
  facts: ClusterFacts,
  decision: ProceedDecision
): Promise<PlanFacts> {
  const [backupChartVersion, rancherReplicas] = await Promise.all([
    resolveBackupChartVersion(runner, settings, decision),
    targetReplicas(runner, settings, facts, decision)
  ])
  return { backupChartVersion, rancherReplicas }
}

/**
 * The Restore scales Rancher back to the count it found, which is 0 when Rancher was already
 * down; the revision being returned to says how many it should run.
 */
async function targetReplicas(
  runner: CommandRunner,
  settings: Settings,
  facts: ClusterFacts,
  decision: ProceedDecision
): Promise<number> {
  if (decision.procedure === 'cleanup-and-reinstall') return 0
  const revision =
    decision.procedure === 'in-place'
      ? decision.rollbackRevision
      : facts.release.history.at(-1)?.revision
  const manifest = await runner.run(
    cmd.helmGetManifest(settings.releaseName, settings.namespace, revision)
  )
  const replicas = deploymentReplicas(manifest.stdout, settings.releaseName)
  if (replicas === undefined || replicas < 1) {
    throw new Refusal(
      `Revision ${revision} of release ${settings.releaseName} has no Deployment ${settings.releaseName} with at least one replica, so there is no Rancher to verify after the rollback; nothing was changed.`,
      `Check: helm get manifest ${settings.releaseName} -n ${settings.namespace} --revision ${revision}`
    )
  }
  return replicas
}

/** '' on the paths that install no chart; a chart the repository does not have is a refusal. */
async function resolveBackupChartVersion(
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
