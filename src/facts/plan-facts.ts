/**
 * What a plan must know exactly and only the chosen procedure tells which to read: the
 * rancher-backup chart version the cleanup path installs (and that it and Rancher's target chart
 * accept the cluster's Kubernetes), and the replicas the target revision of Rancher runs with. Read-only, after the decision and before planning, so the plan names them.
 */
import { load } from 'js-yaml'
import { Refusal } from '../decide/choose.js'
import type { ProceedDecision } from '../decide/decide.js'
import { backupChartRange, exactVersion, kubeVersionAccepts } from '../decide/versions.js'
import type { Settings } from '../inputs/settings.js'
import type { CommandRunner } from '../kube/command-runner.js'
import * as cmd from '../kube/commands.js'
import { BACKUP_CHART, RANCHER_CHART } from '../kube/names.js'
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
    resolveBackupChartVersion(runner, settings, facts, decision),
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

/** A chart's Chart.yaml, as `helm show chart` prints it: the fields a plan needs. */
interface ChartMetadata {
  version: string
  /** The Kubernetes versions `helm install` accepts ('' = any). */
  kubeVersion: string
}

/** undefined when the repository has no chart matching `version`. */
async function showChart(
  runner: CommandRunner,
  repo: string,
  chart: string,
  version: string
): Promise<{ chart?: ChartMetadata; why: string }> {
  const out = await runner.run({ ...cmd.helmShowChart(repo, chart, version), allowFailure: true })
  const why = out.stderr.trim().split('\n').pop() ?? ''
  if (out.exitCode !== 0) return { why }
  const meta = load(out.stdout) as { version?: unknown; kubeVersion?: unknown } | null
  if (typeof meta?.version !== 'string') return { why }
  const kubeVersion = typeof meta.kubeVersion === 'string' ? meta.kubeVersion : ''
  return { chart: { version: meta.version, kubeVersion }, why }
}

/**
 * `helm install` refuses a chart whose kubeVersion excludes the cluster (rancher/rancher#43092):
 * on the cleanup path that would happen after rancher-cleanup deleted Rancher, so it is checked
 * before anything changes.
 */
function refuseUnfit(
  what: string,
  chart: ChartMetadata,
  kubernetesVersion: string,
  instead: string
): void {
  if (chart.kubeVersion === '') return
  const fits = kubeVersionAccepts(chart.kubeVersion, kubernetesVersion)
  if (fits === 'yes') return
  throw new Refusal(
    fits === 'no'
      ? `${what} ${chart.version} requires Kubernetes ${chart.kubeVersion} (its Chart.yaml kubeVersion) and this cluster runs ${kubernetesVersion}: helm would refuse to install it after rancher-cleanup had deleted Rancher; nothing was changed.`
      : `Cannot tell whether ${what} ${chart.version} (kubeVersion ${chart.kubeVersion}) accepts this cluster's Kubernetes ${kubernetesVersion || '(unknown)'}, and rancher-cleanup must not start before the reinstall is known to be possible; nothing was changed.`,
    instead
  )
}

/**
 * '' on the paths that install no chart. A chart the repository does not have, or one that does
 * not accept the cluster's Kubernetes, is a refusal; so is a target Rancher chart that does not.
 */
async function resolveBackupChartVersion(
  runner: CommandRunner,
  settings: Settings,
  facts: ClusterFacts,
  decision: ProceedDecision
): Promise<string> {
  if (decision.procedure !== 'cleanup-and-reinstall') return ''
  const wanted = settings.backupChartVersion || backupChartRange(decision.to)
  const [backup, rancher] = await Promise.all([
    showChart(runner, settings.backupChartRepo, BACKUP_CHART, exactVersion(wanted) ?? wanted),
    showChart(runner, settings.rancherChartRepo, RANCHER_CHART, decision.to)
  ])
  const listVersions = `helm search repo rancher-charts/${BACKUP_CHART} --versions`
  if (!backup.chart) {
    throw new Refusal(
      `No ${BACKUP_CHART} chart in ${settings.backupChartRepo} matches ${wanted}${backup.why ? ` (${backup.why})` : ''}; nothing was changed.`,
      `Set backup-chart-version to a version from: ${listVersions}`
    )
  }
  if (!rancher.chart) {
    throw new Refusal(
      `No ${RANCHER_CHART} chart ${decision.to} in ${settings.rancherChartRepo}${rancher.why ? ` (${rancher.why})` : ''}: the reinstall after cleanup would fail; nothing was changed.`,
      'Check rancher-chart-repo (releases.rancher.com/server-charts/stable or latest, or your mirror) and target-version.'
    )
  }
  refuseUnfit(
    `The ${RANCHER_CHART} chart`,
    rancher.chart,
    facts.kubernetesVersion,
    `Roll back to a Rancher version whose chart supports Kubernetes ${facts.kubernetesVersion} (\`helm show chart ${RANCHER_CHART} --repo ${settings.rancherChartRepo} --version <v>\` shows its kubeVersion), or follow the Rancher support matrix.`
  )
  refuseUnfit(
    `The ${BACKUP_CHART} chart`,
    backup.chart,
    facts.kubernetesVersion,
    `Set backup-chart-version to a ${BACKUP_CHART} chart of the line for Rancher ${decision.to} (${backupChartRange(decision.to)}) whose kubeVersion accepts ${facts.kubernetesVersion}: list them with \`${listVersions}\`, check one with \`helm show chart ${BACKUP_CHART} --repo ${settings.backupChartRepo} --version <v>\`.`
  )
  return backup.chart.version
}
