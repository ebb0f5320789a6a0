/** The Helm side: roll back in place, or reinstall the backup operator and Rancher after cleanup. */
import semver from 'semver'
import { load } from 'js-yaml'
import { findRelease, chartVersionOf, parseHelmHistory, parseHelmList } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { backupChartRange } from '../../decide/versions.js'
import { StepFailure, type StepContext } from './step-context.js'

export async function helmRollback(ctx: StepContext): Promise<string> {
  const { settings, decision } = ctx
  const revision = decision.rollbackRevision
  if (revision === undefined) throw new Error('in-place rollback without a target revision')
  const history = ctx.facts.release.history
  const newest = history[history.length - 1]
  if (newest?.status === 'deployed' && newest.appVersion === decision.to) {
    return `revision ${newest.revision} already runs ${decision.to}: no rollback needed`
  }
  const limit = ctx.budget.limit(settings.timeoutMs, 'helm rollback')
  await ctx.group(`helm rollback ${settings.releaseName} ${revision}`, () =>
    ctx.runner.run(
      cmd.helmRollback(ctx.helmMajor, settings.releaseName, settings.namespace, revision, limit)
    )
  )
  return `rolled back to revision ${revision} (v${decision.to})`
}

/** An exact chart version: the input, or the newest in the line matching the target. */
async function backupChartVersion(ctx: StepContext): Promise<string> {
  const wanted = ctx.settings.backupChartVersion || backupChartRange(ctx.decision.to)
  if (semver.valid(wanted)) return wanted
  const out = await ctx.runner.run(
    cmd.helmShowChart(ctx.settings.backupChartRepo, 'rancher-backup', wanted)
  )
  const version = (load(out.stdout) as { version?: unknown } | null)?.version
  if (typeof version !== 'string') {
    throw new StepFailure(
      `No rancher-backup chart in ${ctx.settings.backupChartRepo} matches ${wanted}.`,
      'Set backup-chart-version to a version from: helm search repo rancher-charts/rancher-backup --versions'
    )
  }
  return version
}

export async function installBackupOperator(ctx: StepContext): Promise<string> {
  const version = await backupChartVersion(ctx)
  const releases = parseHelmList((await ctx.runner.run(cmd.helmListAll())).stdout)
  const done: string[] = []
  for (const chart of ['rancher-backup-crd', 'rancher-backup']) {
    const existing = findRelease(releases, chart, cmd.BACKUP_NAMESPACE)
    if (existing?.status === 'deployed' && chartVersionOf(existing.chart, chart) === version) {
      done.push(`${chart} ${version} already installed`)
      continue
    }
    const limit = ctx.budget.limit(ctx.settings.timeoutMs, `installing ${chart}`)
    await ctx.group(`helm install ${chart} ${version}`, () =>
      ctx.runner.run(
        cmd.helmUpgradeInstall(
          ctx.helmMajor,
          {
            release: chart,
            namespace: cmd.BACKUP_NAMESPACE,
            chart,
            repo: ctx.settings.backupChartRepo,
            version
          },
          limit
        )
      )
    )
    done.push(`${chart} ${version} installed`)
  }
  return done.join('; ')
}

export async function helmInstallRancher(ctx: StepContext): Promise<string> {
  const { settings, decision } = ctx
  const history = await ctx.runner.run(cmd.helmHistory(settings.releaseName, settings.namespace))
  const newest = parseHelmHistory(history.exitCode === 0 ? history.stdout : '[]').pop()
  if (newest?.status === 'deployed' && newest.appVersion === decision.to) {
    return `rancher ${decision.to} already installed (revision ${newest.revision})`
  }
  const limit = ctx.budget.limit(settings.timeoutMs, 'installing rancher')
  await ctx.group(`helm install ${settings.releaseName} ${decision.to}`, () =>
    ctx.runner.run(
      cmd.helmUpgradeInstall(
        ctx.helmMajor,
        {
          release: settings.releaseName,
          namespace: settings.namespace,
          chart: 'rancher',
          repo: settings.rancherChartRepo,
          version: decision.to,
          valuesFile: ctx.valuesFile,
          devel: semver.prerelease(decision.to) !== null
        },
        limit
      )
    )
  )
  return `installed rancher ${decision.to} with the saved values`
}
