/** After cleanup: Rancher T from its chart, with the values saved before cleanup. */
import type { HelmRevision } from '../../facts/cluster-facts.js'
import { parseHelmHistory } from '../../facts/parsers.js'
import { isDeployedAt, isPrerelease, revisionVersion } from '../../decide/versions.js'
import * as cmd from '../../kube/commands.js'
import { RANCHER_CHART } from '../../kube/names.js'
import { defineStep, type PlanInput } from '../step.js'

/**
 * The revision of T a killed `helm upgrade --install` of an earlier run left pending. Helm refuses
 * to upgrade (or install over) a release whose newest revision is pending ("another operation
 * (install/upgrade/rollback) is in progress", pkg/action/upgrade.go, v3.17.2 and v4.1.4), but
 * rollback does not check: `helm rollback <release> <that revision>` applies the manifest Helm
 * stored with it before applying anything, and records it deployed. Nothing is deleted, unlike
 * uninstalling and installing again.
 */
export function pendingRevisionOfTarget({ facts, decision }: PlanInput): HelmRevision | undefined {
  const newest = facts.release.history.at(-1)
  if (newest === undefined || !newest.status.startsWith('pending-')) return undefined
  return revisionVersion(newest) === decision.to ? newest : undefined
}

export const helmInstall = defineStep({
  id: 'helm-install',
  title: input => {
    const { settings, decision } = input
    const pending = pendingRevisionOfTarget(input)
    return pending
      ? `Recover revision ${pending.revision} of rancher ${decision.to}, left ${pending.status} by an interrupted run, with helm rollback to it (or install rancher ${decision.to} from ${settings.rancherChartRepo} with the saved values)`
      : `Install rancher ${decision.to} from ${settings.rancherChartRepo} with the saved values`
  },
  commands: (input, limits) => {
    const { settings, decision, helmMajor, valuesFile } = input
    const pending = pendingRevisionOfTarget(input)
    const limit = limits.limit(settings.timeoutMs, 'installing rancher')
    return {
      history: cmd.helmHistory(settings.releaseName, settings.namespace),
      ...(pending
        ? {
            recover: cmd.helmRollback(
              helmMajor,
              settings.releaseName,
              settings.namespace,
              pending.revision,
              limit
            )
          }
        : {}),
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
        limit
      )
    }
  },
  async run(ctx, c) {
    const { settings, decision } = ctx
    const history = await ctx.runner.run(c.history)
    const newest = parseHelmHistory(history.exitCode === 0 ? history.stdout : '[]').at(-1)
    if (isDeployedAt(newest, decision.to)) {
      return `rancher ${decision.to} already installed (revision ${newest?.revision})`
    }
    const pending = pendingRevisionOfTarget(ctx)
    if (c.recover !== undefined && pending !== undefined && newest?.revision === pending.revision) {
      await ctx.group(`helm rollback ${settings.releaseName} ${pending.revision}`, () =>
        ctx.runner.run(c.recover!)
      )
      return `revision ${pending.revision} (rancher ${decision.to}) was ${pending.status}: recovered with helm rollback to it`
    }
    await ctx.group(`helm install ${settings.releaseName} ${decision.to}`, () =>
      ctx.runner.run(c.install)
    )
    return `installed rancher ${decision.to} with the saved values`
  }
})
