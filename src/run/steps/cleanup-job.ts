/**
 * rancher-cleanup as its repository runs it: a Job in kube-system with a cluster-admin
 * ServiceAccount. Its scripts exit 0 whatever happens, so a Job is judged by its log, never by an
 * exit code. Shared by the cleanup and verify-cleanup steps.
 */
import type { Settings } from '../../inputs/settings.js'
import type { Command } from '../../kube/command-runner.js'
import * as cmd from '../../kube/commands.js'
import { cleanupJobManifests } from '../../kube/manifests.js'
import { CLEANUP_JOBS, CLEANUP_NAMESPACE as NS, type CleanupMode } from '../../kube/names.js'
import { StepFailure, type Limits, type StepContext } from '../step.js'

export type JobCommands = {
  /** Job names are fixed upstream: an earlier run's Job must go before a new one can start. */
  removeEarlier: Command
  apply: Command
  wait: Command
  logs: Command
}

export function jobCommands(settings: Settings, mode: CleanupMode, limits: Limits): JobCommands {
  const job = CLEANUP_JOBS[mode]
  return {
    removeEarlier: cmd.deleteObject('job', job, NS),
    apply: cmd.applyFromStdin(
      `ServiceAccount, ClusterRoleBinding and Job ${NS}/${job} running ${settings.cleanupImage}`,
      JSON.stringify(cleanupJobManifests(settings.cleanupImage, mode))
    ),
    wait: cmd.waitJobComplete(NS, job, limits.limit(settings.timeoutMs, `${job} finished`)),
    logs: cmd.jobLogs(NS, job)
  }
}

/** Runs the Job to completion and returns its log; a Job that never completes fails the step. */
export async function runJob(
  ctx: StepContext,
  c: JobCommands,
  mode: CleanupMode,
  limits: Limits
): Promise<string> {
  const job = CLEANUP_JOBS[mode]
  await ctx.runner.run(c.removeEarlier)
  await ctx.runner.run(c.apply)
  const waited = await ctx.runner.run(c.wait)
  const log = (await ctx.runner.run(c.logs)).stdout
  await ctx.group(`${job} log`, async () => ctx.log(log || '(no output)'))
  if (waited.exitCode !== 0) {
    const waitS = Math.round(limits.limit(ctx.settings.timeoutMs, job) / 1000)
    throw new StepFailure(
      `Job ${NS}/${job} did not complete within ${waitS}s. Rancher may be partly deleted.`,
      `Inspect it (kubectl -n ${NS} describe job ${job}; kubectl -n ${NS} logs -l job-name=${job}); known hangs: rancher/rancher#37553, rancher/rancher-cleanup#88. Then re-run this action: the backup and the saved values are untouched.`
    )
  }
  return log
}
