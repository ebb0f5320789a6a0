/**
 * rancher-cleanup's verify Job, judged by its output against an allow-list; namespaces cleanup
 * should have deleted are checked here too (verify.sh's own check never matches). Then the
 * cleanup Jobs and their cluster-admin ServiceAccount go, whatever the verdict.
 */
import { isDeletedByCleanup } from '../../decide/cleanup-scope.js'
import { judgeVerifyOutput } from '../../decide/verify-judge.js'
import * as cmd from '../../kube/commands.js'
import {
  CLEANUP_BINDING,
  CLEANUP_JOBS,
  CLEANUP_NAMESPACE as NS,
  CLEANUP_SERVICE_ACCOUNT
} from '../../kube/names.js'
import { defineStep, StepFailure } from '../step.js'
import { jobCommands, runJob } from './cleanup-job.js'

const LEFTOVERS_SHOWN = 20

export const verifyCleanup = defineStep({
  id: 'verify-cleanup',
  title: () => 'Run rancher-cleanup verify and judge its output (not its exit code)',
  commands: ({ settings }, limits) => ({
    ...jobCommands(settings, 'verify', limits),
    namespaces: cmd.listNamespaceNames(),
    // The cleanup ServiceAccount is bound to cluster-admin: it must not outlive the step.
    removeJobs: [
      ...Object.values(CLEANUP_JOBS).map(job => cmd.deleteObject('job', job, NS)),
      cmd.deleteObject('clusterrolebinding', CLEANUP_BINDING),
      cmd.deleteObject('serviceaccount', CLEANUP_SERVICE_ACCOUNT, NS)
    ].map(c => ({ ...c, allowFailure: true }))
  }),
  async run(ctx, c, limits) {
    try {
      const verdict = judgeVerifyOutput(await runJob(ctx, c, 'verify', limits))
      const namespaces = (await ctx.runner.run(c.namespaces)).stdout
        .split(/\s+/)
        .filter(ns => ns !== '' && isDeletedByCleanup(ns))
      const leftovers = [...verdict.leftovers, ...namespaces.map(ns => `namespace/${ns}`)]
      if (leftovers.length > 0) {
        const shown = leftovers.slice(0, LEFTOVERS_SHOWN)
        throw new StepFailure(
          `rancher-cleanup left ${leftovers.length} leftover(s): ${shown.join('; ')}${leftovers.length > shown.length ? '; …' : ''}`,
          `Remove the leftovers (or re-run cleanup: kubectl -n ${NS} delete job ${CLEANUP_JOBS.cleanup}, then re-run this action) before reinstalling.`
        )
      }
      return 'verify found no Rancher leftovers'
    } finally {
      for (const remove of c.removeJobs) await ctx.runner.run(remove)
    }
  }
})
