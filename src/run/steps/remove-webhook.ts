/**
 * Before a Restore onto a running Rancher: stop Rancher, then uninstall rancher-webhook. The
 * operator scales down only Rancher; the webhook keeps running and denies restored objects that
 * a newer Rancher changed (backup-restore-operator#844, 2.13 → 2.12: "cannot modify or remove
 * label authz.management.cattle.io/gr-owner"), so the Restore loops "Retrying" forever. Rancher's
 * QA rollback test (rancher/observability-e2e upgrade_rollback_test.go) scales Rancher to 0 and
 * runs `helm uninstall rancher-webhook -n cattle-system` before applying the Restore. Rancher goes
 * first, or its controllers would reinstall the webhook at once; the chart owns the webhook
 * configurations, so uninstalling removes them too. When Rancher starts again it installs the
 * webhook of its own version, which verify checks.
 */
import { parseHelmHistory } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { rancherPodSelector, WEBHOOK_RELEASE } from '../../kube/names.js'
import { defineStep } from '../step.js'

export const removeWebhook = defineStep({
  id: 'remove-webhook',
  title: () =>
    `Scale Rancher to 0 and uninstall ${WEBHOOK_RELEASE}, so that it cannot deny the Restore (Rancher reinstalls it when it starts)`,
  commands: ({ settings, helmMajor }, limits) => ({
    scaleDown: cmd.scaleDeployment(settings.namespace, settings.releaseName, 0),
    podsGone: cmd.waitPodsDeleted(
      settings.namespace,
      rancherPodSelector(settings.releaseName),
      limits.limit(settings.timeoutMs, 'waiting for Rancher to stop')
    ),
    release: cmd.helmHistory(WEBHOOK_RELEASE, settings.namespace),
    uninstall: cmd.helmUninstall(
      helmMajor,
      WEBHOOK_RELEASE,
      settings.namespace,
      limits.limit(settings.timeoutMs, `helm uninstall ${WEBHOOK_RELEASE}`)
    )
  }),
  async run(ctx, c) {
    const { settings } = ctx
    await ctx.runner.run(c.scaleDown)
    const gone = await ctx.runner.run(c.podsGone)
    if (gone.exitCode !== 0) {
      throw new Error(
        `Rancher's pods did not stop: ${gone.stderr.trim().split('\n').pop() ?? ''}. Check: kubectl -n ${settings.namespace} get pods -l ${rancherPodSelector(settings.releaseName)}`
      )
    }
    // Re-read: an earlier, interrupted run may have uninstalled it already.
    const history = await ctx.runner.run(c.release)
    const newest = parseHelmHistory(history.exitCode === 0 ? history.stdout : '[]').at(-1)
    if (newest === undefined) return `Rancher stopped; ${WEBHOOK_RELEASE} was not installed`
    await ctx.runner.run(c.uninstall)
    return `Rancher stopped; ${WEBHOOK_RELEASE} (${newest.chart}) uninstalled`
  }
})
