/** After cleanup: Rancher T from its chart, with the values saved before cleanup. */
import { parseHelmHistory } from '../../facts/parsers.js'
import { isDeployedAt, isPrerelease } from '../../decide/versions.js'
import * as cmd from '../../kube/commands.js'
import { RANCHER_CHART } from '../../kube/names.js'
import { defineStep } from '../step.js'

export const helmInstall = defineStep({
  id: 'helm-install',
  title: ({ settings, decision }) =>
    `Install rancher ${decision.to} from ${settings.rancherChartRepo} with the saved values`,
  commands: ({ settings, decision, helmMajor, valuesFile }, limits) => ({
    history: cmd.helmHistory(settings.releaseName, settings.namespace),
    install: cmd.helmUpgradeInstall(
      helmMajor,
      {
        release: settings.releaseName,
        namespace: settings.namespace,
        chart: RANCHER_CHART,
        repo: settings.rancherChartRepo,
        version: decision.to,
        valuesFile,
        devel: isPrerelease(decision.to)
      },
      limits.limit(settings.timeoutMs, 'installing rancher')
    )
  }),
  async run(ctx, c) {
    const { settings, decision } = ctx
    const history = await ctx.runner.run(c.history)
    const newest = parseHelmHistory(history.exitCode === 0 ? history.stdout : '[]').at(-1)
    if (isDeployedAt(newest, decision.to)) {
      return `rancher ${decision.to} already installed (revision ${newest?.revision})`
    }
    await ctx.group(`helm install ${settings.releaseName} ${decision.to}`, () =>
      ctx.runner.run(c.install)
    )
    return `installed rancher ${decision.to} with the saved values`
  }
})
