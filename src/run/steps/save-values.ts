/** The release's values, which the reinstall needs (hostname above all), to a 0600 file. */
import * as cmd from '../../kube/commands.js'
import { defineStep } from '../step.js'
import { hostnameOf } from './saved.js'

export const saveValues = defineStep({
  id: 'save-values',
  title: ({ settings, valuesFile }) =>
    `Save the Helm values of ${settings.releaseName} to ${valuesFile} (they must set hostname)`,
  commands: ({ settings }) => ({
    values: cmd.helmGetValues(settings.releaseName, settings.namespace)
  }),
  async run(ctx, c) {
    const text = (await ctx.runner.run(c.values)).stdout
    const hostname = hostnameOf(text, ctx.settings)
    await ctx.writePrivateFile(ctx.valuesFile, text)
    ctx.report.valuesFile = ctx.valuesFile
    return `values saved (hostname ${hostname})`
  }
})
