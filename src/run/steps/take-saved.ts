/**
 * Resuming an interrupted cleanup-and-reinstall: the release (and its values) may be gone, so the
 * values and Secrets come from the copy the earlier run kept in the cluster.
 */
import { parseSavedState } from '../../facts/saved-state.js'
import * as cmd from '../../kube/commands.js'
import { SAVED } from '../../kube/names.js'
import { defineStep, StepFailure } from '../step.js'
import { hostnameOf, secretNames, type SavedSecret } from './saved.js'

export const takeSaved = defineStep({
  id: 'take-saved',
  title: ({ valuesFile, secretsFile }) =>
    `Take the values and Secrets the interrupted run saved in ${SAVED} (to ${valuesFile} and ${secretsFile})`,
  commands: () => ({ saved: cmd.readSaved() }),
  async run(ctx, c) {
    const { settings, decision } = ctx
    const saved = parseSavedState((await ctx.runner.run(c.saved)).stdout)
    if (!saved) {
      throw new StepFailure(
        `Secret ${SAVED} disappeared or is unreadable while resuming.`,
        `Reinstall by hand: helm install ${settings.releaseName} rancher --repo ${settings.rancherChartRepo} --version ${decision.to} -n ${settings.namespace} with your values, then restore the backup.`
      )
    }
    const hostname = hostnameOf(saved.values, settings)
    await ctx.writePrivateFile(ctx.valuesFile, saved.values)
    await ctx.writePrivateFile(ctx.secretsFile, saved.secrets)
    ctx.report.valuesFile = ctx.valuesFile
    const secrets = (JSON.parse(saved.secrets) as SavedSecret[]).map(s => s.metadata)
    return `values (hostname ${hostname}) and Secrets (${secretNames(secrets) || 'none'}) taken from ${SAVED}`
  }
})
