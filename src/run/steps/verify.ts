/**
 * The result as the cluster shows it: the Deployment rolled out on the target image, Helm
 * agreeing; and, when remove-webhook took rancher-webhook away, Rancher has reinstalled it.
 */
import { removesWebhook } from '../../decide/preflight.js'
import { isDeployedAt } from '../../decide/versions.js'
import { deploymentReplicas, parseDeployment, parseHelmHistory } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { WEBHOOK_DEPLOYMENT, WEBHOOK_RELEASE } from '../../kube/names.js'
import type { Command } from '../../kube/command-runner.js'
import { defineStep, StepFailure, type StepContext } from '../step.js'

export const verify = defineStep({
  id: 'verify',
  title: ({ settings, decision }) =>
    `Verify: deployment ${settings.releaseName} runs rancher v${decision.to}, rolled out, and Helm shows ${decision.to} deployed` +
    (removesWebhook(decision, settings) ? `; Rancher has reinstalled ${WEBHOOK_RELEASE}` : ''),
  commands: ({ settings, decision, rancherReplicas }, limits) => ({
    rollout: {
      ...cmd.rolloutStatus(
        settings.namespace,
        settings.releaseName,
        limits.limit(settings.timeoutMs, 'verifying the rollout')
      ),
      allowFailure: true
    },
    deployment: cmd.getDeployment(settings.namespace, settings.releaseName),
    history: cmd.helmHistory(settings.releaseName, settings.namespace),
    // The count the release asks for: planned from the target revision's manifest (in place,
    // restore-only), read from the installed release's after a reinstall.
    manifest:
      rancherReplicas > 0 ? [] : [cmd.helmGetManifest(settings.releaseName, settings.namespace)],
    /** In order: Rancher creates the webhook's Deployment, it rolls out, Helm shows the release. */
    webhook: removesWebhook(decision, settings)
      ? [
          cmd.waitCreated(
            settings.namespace,
            `deployment/${WEBHOOK_DEPLOYMENT}`,
            limits.limit(settings.timeoutMs, `waiting for Rancher to reinstall ${WEBHOOK_RELEASE}`)
          ),
          {
            ...cmd.rolloutStatus(
              settings.namespace,
              WEBHOOK_DEPLOYMENT,
              limits.limit(settings.timeoutMs, `verifying the ${WEBHOOK_RELEASE} rollout`)
            ),
            allowFailure: true
          },
          cmd.helmHistory(WEBHOOK_RELEASE, settings.namespace)
        ]
      : []
  }),
  async run(ctx, c) {
    const { settings, decision } = ctx
    // Helm's view is read while the rollout is awaited; the Deployment only once it is done.
    const [rollout, history, manifest] = await Promise.all([
      ctx.runner.run(c.rollout),
      ctx.runner.run(c.history),
      c.manifest[0] ? ctx.runner.run(c.manifest[0]) : undefined
    ])
    const deployment = await ctx.runner.run(c.deployment)
    const revisions = parseHelmHistory(history.exitCode === 0 ? history.stdout : '[]')
    ctx.report.historyAfter = revisions
    const newest = revisions.at(-1)
    ctx.report.helmRevision = newest?.revision

    const problems: string[] = []
    const d = parseDeployment(deployment.stdout)
    if (!d.exists)
      problems.push(`deployment ${settings.namespace}/${settings.releaseName} does not exist`)
    else if (d.imageVersion && d.imageVersion !== decision.to) {
      problems.push(`deployment runs ${d.image}, not v${decision.to}`)
    }
    // rollout status passes at 0/0: the count the release asks for must be there, all ready.
    const want = manifest
      ? (deploymentReplicas(manifest.stdout, settings.releaseName) ?? 1)
      : ctx.rancherReplicas
    if (d.exists && (d.replicas < Math.max(1, want) || d.readyReplicas < Math.max(1, want))) {
      problems.push(
        `deployment has ${d.readyReplicas}/${d.replicas} replicas ready, the release asks for ${want}`
      )
    }
    if (rollout.exitCode !== 0) {
      problems.push(`rollout did not finish: ${rollout.stderr.trim().split('\n').pop() ?? ''}`)
    }
    if (!isDeployedAt(newest, decision.to)) {
      problems.push(
        `helm shows ${newest ? `revision ${newest.revision} ${newest.appVersion} ${newest.status}` : 'no release'}, not ${decision.to} deployed`
      )
    }
    const webhook = problems.length === 0 ? await reinstalledWebhook(ctx, c.webhook) : undefined
    if (webhook?.problem) problems.push(webhook.problem)
    if (problems.length > 0) {
      throw new StepFailure(
        `Verification failed: ${problems.join('; ')}.`,
        `Check: kubectl -n ${settings.namespace} get deploy ${settings.releaseName} -o wide; helm history ${settings.releaseName} -n ${settings.namespace}`
      )
    }
    const image = d.imageVersion ? d.image : `${d.image} (tag not a version: not compared)`
    return `${image} rolled out (${d.readyReplicas}/${d.replicas} ready); helm revision ${newest?.revision} deployed${webhook?.detail ?? ''}`
  }
})

/** Waits for the webhook Rancher reinstalls; nothing to wait for when it was never removed. */
async function reinstalledWebhook(
  ctx: StepContext,
  commands: readonly Command[]
): Promise<{ problem?: string; detail?: string } | undefined> {
  const [created, rollout, history] = commands
  if (!created || !rollout || !history) return undefined
  const ns = ctx.settings.namespace
  const createdResult = await ctx.runner.run(created)
  if (createdResult.exitCode !== 0) {
    return {
      problem: `Rancher did not reinstall ${WEBHOOK_RELEASE} (deployment ${ns}/${WEBHOOK_DEPLOYMENT} never appeared: ${lastLine(createdResult.stderr)}); until it does, nothing validates Rancher's objects`
    }
  }
  const rolled = await ctx.runner.run(rollout)
  if (rolled.exitCode !== 0) {
    return { problem: `${WEBHOOK_RELEASE} did not roll out: ${lastLine(rolled.stderr)}` }
  }
  const h = await ctx.runner.run(history)
  const newest = parseHelmHistory(h.exitCode === 0 ? h.stdout : '[]').at(-1)
  return {
    detail: `; Rancher reinstalled ${WEBHOOK_RELEASE}${newest ? ` (${newest.chart}, ${newest.status})` : ''}`
  }
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? ''
