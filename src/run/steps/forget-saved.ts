/** The reinstall is verified: the safety copy has done its job and holds secrets, so it goes. */
import * as cmd from '../../kube/commands.js'
import { SAVED, SAVED_NAME, SAVED_NAMESPACE } from '../../kube/names.js'
import { defineStep } from '../step.js'

export const forgetSaved = defineStep({
  id: 'forget-saved',
  title: () => `Delete ${SAVED}: the reinstall is verified`,
  commands: () => ({ remove: cmd.deleteObject('secret', SAVED_NAME, SAVED_NAMESPACE) }),
  async run(ctx, c) {
    await ctx.runner.run(c.remove)
    return `deleted ${SAVED}`
  }
})
