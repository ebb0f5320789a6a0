/**
 * rancher-cleanup as its repository runs it: Jobs in kube-system. Its scripts exit 0 whatever
 * happens, so the cleanup is judged by verify's output, never by an exit code.
 */
import * as cmd from '../../kube/commands.js'
import { cleanupJobManifests } from '../../kube/manifests.js'
import { isDeletedByCleanup } from '../../decide/cleanup-scope.js'
import { judgeVerifyOutput } from '../../decide/verify-judge.js'
import { StepFailure, type StepContext } from './step-context.js'

const NS = cmd.CLEANUP_NAMESPACE

async function runJob(ctx: StepContext, mode: 'cleanup' | 'verify'): Promise<string> {
  const job = `${mode}-job`
  // Job names are fixed upstream: an earlier run's Job must go before a new one can start.
  await ctx.runner.run(cmd.deleteObject('job', job, NS))
  await ctx.runner.run(
    cmd.applyFromStdin(JSON.stringify(cleanupJobManifests(ctx.settings.cleanupImage, mode)))
  )
  const waitMs = ctx.budget.limit(ctx.settings.timeoutMs, `${job} finished`)
  const waited = await ctx.runner.run(cmd.waitJobComplete(NS, job, waitMs))
  const log = (await ctx.runner.run(cmd.jobLogs(NS, job))).stdout
  await ctx.group(`${job} log`, async () => ctx.log(log || '(no output)'))
  if (waited.exitCode !== 0) {
    throw new StepFailure(
      `Job ${NS}/${job} did not complete within ${Math.round(waitMs / 1000)}s. Rancher may be partly deleted.`,
      `Inspect it (kubectl -n ${NS} describe job ${job}; kubectl -n ${NS} logs -l job-name=${job}); known hangs: rancher/rancher#37553, rancher/rancher-cleanup#88. Then re-run this action: the backup and the saved values are untouched.`
    )
  }
  return log
}

export async function runCleanup(ctx: StepContext): Promise<string> {
  await runJob(ctx, 'cleanup')
  return 'cleanup-job completed'
}

export async function verifyCleanup(ctx: StepContext): Promise<string> {
  try {
    const log = await runJob(ctx, 'verify')
    const verdict = judgeVerifyOutput(log)
    // verify.sh greps namespaces in a way that never matches: surviving ones are checked here.
    const namespaces = (await ctx.runner.run(cmd.listNamespaceNames())).stdout
      .split(/\s+/)
      .filter(ns => ns !== '' && isDeletedByCleanup(ns))
    const leftovers = [...verdict.leftovers, ...namespaces.map(ns => `namespace/${ns}`)]
    if (leftovers.length > 0) {
      const shown = leftovers.slice(0, 20)
      throw new StepFailure(
        `rancher-cleanup left ${leftovers.length} leftover(s): ${shown.join('; ')}${leftovers.length > shown.length ? '; …' : ''}`,
        `Remove the leftovers (or re-run cleanup: kubectl -n ${NS} delete job cleanup-job, then re-run this action) before reinstalling.`
      )
    }
    return 'verify found no Rancher leftovers'
  } finally {
    // The cleanup ServiceAccount is bound to cluster-admin: it must not outlive the step.
    for (const c of [
      cmd.deleteObject('job', 'cleanup-job', NS),
      cmd.deleteObject('job', 'verify-job', NS),
      cmd.deleteObject('clusterrolebinding', 'cleanup-admin'),
      cmd.deleteObject('serviceaccount', 'cleanup-service-account', NS)
    ]) {
      await ctx.runner.run({ ...c, allowFailure: true })
    }
  }
}
