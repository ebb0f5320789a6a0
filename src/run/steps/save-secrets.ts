/**
 * The Secrets cleanup deletes, to a 0600 file; then values, Secrets and a record of the move into
 * the saved-state Secret, which survives cleanup (the runner may not), for a re-run.
 */
import { parseJson } from '../../facts/parsers.js'
import { savedStateManifest, type SavedState } from '../../facts/saved-state.js'
import * as cmd from '../../kube/commands.js'
import { BACKUP_NAMESPACE, SAVED } from '../../kube/names.js'
import { defineStep, StepFailure } from '../step.js'
import { secretNames, secretsToSave, type SavedSecret } from './saved.js'

interface ReadSecret {
  metadata?: { labels?: unknown; annotations?: unknown }
  type?: unknown
  data?: unknown
}

export const saveSecrets = defineStep({
  id: 'save-secrets',
  title: ({ settings, secretsFile }) =>
    `Save the Secrets cleanup deletes (${secretNames(secretsToSave(settings))}) to ${secretsFile}, and keep values and Secrets in ${SAVED} for a re-run`,
  commands: ({ settings }) => ({
    reads: secretsToSave(settings).map(s => cmd.readSecret(s.namespace, s.name)),
    keep: cmd.applyFromStdin(`Secret ${SAVED} with the values, the Secrets and the move`, '')
  }),
  async run(ctx, c) {
    const wanted = secretsToSave(ctx.settings)
    const found = await Promise.all(
      c.reads.map(async (read, i): Promise<SavedSecret | undefined> => {
        const obj = parseJson((await ctx.runner.run(read)).stdout, 'secret') as
          ReadSecret | undefined
        if (!obj) return undefined
        const { name, namespace } = wanted[i]!
        // Server-owned fields (uid, resourceVersion, ownerReferences) must not be replayed.
        return {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace,
            labels: obj.metadata?.labels,
            annotations: obj.metadata?.annotations
          },
          type: obj.type,
          data: obj.data
        }
      })
    )
    const saved = found.filter((s): s is SavedSecret => s !== undefined)
    const encryption = ctx.settings.encryptionConfigSecretName
    if (encryption && !saved.some(s => s.metadata.name === encryption)) {
      throw new StepFailure(
        `The encryption config Secret ${BACKUP_NAMESPACE}/${encryption} is missing; nothing was deleted.`,
        'An encrypted backup cannot be restored without it: recreate it, then re-run.'
      )
    }
    await ctx.writePrivateFile(ctx.secretsFile, JSON.stringify(saved))
    const state: SavedState = {
      record: {
        from: ctx.decision.from,
        to: ctx.decision.to,
        backupFilename: ctx.facts.backup.filename,
        release: ctx.settings.releaseName,
        namespace: ctx.settings.namespace,
        savedAt: ctx.now().toISOString(),
        holder: ctx.holder
      },
      values: await ctx.readPrivateFile(ctx.valuesFile),
      secrets: JSON.stringify(saved)
    }
    await ctx.runner.run({ ...c.keep, stdin: JSON.stringify(savedStateManifest(state)) })
    const names = secretNames(saved.map(s => s.metadata))
    return `${saved.length === 0 ? 'no Secrets to save' : `saved ${names}`}; values and Secrets kept in ${SAVED}`
  }
})
