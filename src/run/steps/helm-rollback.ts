/** In place: `helm rollback` to the revision of T that the decision chose. */
import { isDeployedAt } from '../../decide/versions.js'
import * as cmd from '../../kube/commands.js'
import { defineStep } from '../step.js'

export const helmRollback = defineStep({
  id: 'helm-rollback',
  title: ({ settings, decision }) =>
    `helm rollback ${settings.releaseName} to revision ${decision.rollbackRevision} (v${decision.to})`,
  commands: ({ settings, decision, helmMajor }, limits) => ({
    rollback: cmd.helmRollback(
      helmMajor,
      settings.releaseName,
      settings.namespace,
      decision.rollbackRevision ?? 0,
      limits.limit(settings.timeoutMs, 'helm rollback')
    )
  }),
  async run(ctx, c) {
    const { settings, decision } = ctx
    const newest = ctx.facts.release.history.at(-1)
    if (isDeployedAt(newest, decision.to)) {
      return `revision ${newest?.revision} already runs ${decision.to}: no rollback needed`
    }
    if (decision.rollbackRevision === undefined) {
      throw new Error('in-place rollback without a target revision')
    }
    await ctx.group(`helm rollback ${settings.releaseName} ${decision.rollbackRevision}`, () =>
      ctx.runner.run(c.rollback)
    )
    return `rolled back to revision ${decision.rollbackRevision} (v${decision.to})`
  }
})
