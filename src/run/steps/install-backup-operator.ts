/** After cleanup: rancher-backup-crd and rancher-backup at the exact version resolved before planning. */
import { chartVersionOf, findRelease, parseHelmList } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { BACKUP_CHART, BACKUP_CRD_CHART, BACKUP_NAMESPACE } from '../../kube/names.js'
import { defineStep } from '../step.js'

/** The CRDs first: the operator's chart needs them. */
const CHARTS = [BACKUP_CRD_CHART, BACKUP_CHART] as const

export const installBackupOperator = defineStep({
  id: 'install-backup-operator',
  title: ({ settings, backupChartVersion }) =>
    `Install ${CHARTS.join(' and ')} ${backupChartVersion} from ${settings.backupChartRepo}`,
  commands: ({ settings, helmMajor, backupChartVersion }, limits) => ({
    releases: cmd.helmListAll(),
    installs: CHARTS.map(chart =>
      cmd.helmUpgradeInstall(
        helmMajor,
        {
          release: chart,
          namespace: BACKUP_NAMESPACE,
          chart,
          repo: settings.backupChartRepo,
          version: backupChartVersion
        },
        limits.limit(settings.timeoutMs, `installing ${chart}`)
      )
    )
  }),
  async run(ctx, c) {
    const version = ctx.backupChartVersion
    const releases = parseHelmList((await ctx.runner.run(c.releases)).stdout)
    const done: string[] = []
    for (const [i, chart] of CHARTS.entries()) {
      const existing = findRelease(releases, chart, BACKUP_NAMESPACE)
      if (existing?.status === 'deployed' && chartVersionOf(existing.chart, chart) === version) {
        done.push(`${chart} ${version} already installed`)
        continue
      }
      await ctx.group(`helm install ${chart} ${version}`, () => ctx.runner.run(c.installs[i]!))
      done.push(`${chart} ${version} installed`)
    }
    return done.join('; ')
  }
})
