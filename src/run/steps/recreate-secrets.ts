/** After cleanup: the saved Secrets (and their namespaces, which cleanup deleted) back in place. */
import * as cmd from '../../kube/commands.js'
import { defineStep } from '../step.js'
import { secretNames, type SavedSecret } from './saved.js'

export const recreateSecrets = defineStep({
  id: 'recreate-secrets',
  title: () => 'Recreate the saved Secrets',
  commands: () => ({ apply: cmd.applyFromStdin('the saved Secrets and their namespaces', '') }),
  async run(ctx, c) {
    const saved = JSON.parse(await ctx.readPrivateFile(ctx.secretsFile)) as SavedSecret[]
    if (saved.length === 0) return 'nothing was saved: nothing to recreate'
    const namespaces = [...new Set(saved.map(s => s.metadata.namespace))].map(name => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name }
    }))
    const list = { apiVersion: 'v1', kind: 'List', items: [...namespaces, ...saved] }
    await ctx.runner.run({ ...c.apply, stdin: JSON.stringify(list) })
    return `recreated ${secretNames(saved.map(s => s.metadata))}`
  }
})
