/** rancher-cleanup's cleanup Job: deletes Rancher and everything it created from the cluster. */
import { CLEANUP_JOBS } from '../../kube/names.js'
import { defineStep } from '../step.js'
import { jobCommands, runJob } from './cleanup-job.js'

export const cleanup = defineStep({
  id: 'cleanup',
  title: ({ settings }) =>
    `Run rancher-cleanup (${settings.cleanupImage}): deletes Rancher from the cluster`,
  commands: ({ settings }, limits) => jobCommands(settings, 'cleanup', limits),
  async run(ctx, c, limits) {
    await runJob(ctx, c, 'cleanup', limits)
    return `${CLEANUP_JOBS.cleanup} completed`
  }
})
