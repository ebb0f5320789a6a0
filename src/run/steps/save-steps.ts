/**
 * What the cleanup path must keep before it deletes anything: the release's values (the
 * reinstall needs them, hostname above all) and the Secrets that live in namespaces cleanup
 * deletes. Contents go to 0600 files and stdin only, never to logs or the summary.
 */
import { load } from 'js-yaml'
import { parseJson } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { s3CredentialSecretManifest } from '../../kube/manifests.js'
import { parseSavedState, savedStateManifest, type SavedState } from '../../facts/saved-state.js'
import { secretsToSave } from '../plan.js'
import { StepFailure, type StepContext } from './step-context.js'

async function readSaved(ctx: StepContext): Promise<SavedState> {
  const saved = parseSavedState((await ctx.runner.run(cmd.readSaved())).stdout)
  if (!saved) {
    throw new StepFailure(
      `Secret ${cmd.SAVED_NAMESPACE}/${cmd.SAVED_NAME} disappeared or is unreadable while resuming.`,
      `Reinstall by hand: helm install ${ctx.settings.releaseName} rancher --repo ${ctx.settings.rancherChartRepo} --version ${ctx.decision.to} -n ${ctx.settings.namespace} with your values, then restore the backup.`
    )
  }
  return saved
}

export async function saveValues(ctx: StepContext): Promise<string> {
  const { settings } = ctx
  // Resuming: the release (and its values) may be gone; the copy kept in the cluster is the truth.
  const text = ctx.facts.interrupted
    ? (await readSaved(ctx)).values
    : (await ctx.runner.run(cmd.helmGetValues(settings.releaseName, settings.namespace))).stdout
  let values: unknown
  try {
    values = load(text)
  } catch {
    throw new StepFailure(
      `The values of release ${settings.releaseName} are not valid YAML; nothing was deleted.`,
      `Inspect them with: helm get values ${settings.releaseName} -n ${settings.namespace}`
    )
  }
  const hostname = (values as { hostname?: unknown } | null)?.hostname
  if (typeof hostname !== 'string' || hostname === '') {
    throw new StepFailure(
      `The release ${settings.releaseName} has no 'hostname' value, which the rancher chart requires to reinstall; nothing was deleted.`,
      `Set it first (helm upgrade ${settings.releaseName} --reuse-values --set hostname=<rancher host>) or roll back by hand.`
    )
  }
  await ctx.writePrivateFile(ctx.valuesFile, text)
  ctx.report.valuesFile = ctx.valuesFile
  return ctx.facts.interrupted
    ? `values taken from ${cmd.SAVED_NAMESPACE}/${cmd.SAVED_NAME} (hostname ${hostname})`
    : `values saved (hostname ${hostname})`
}

interface SavedSecret {
  apiVersion: 'v1'
  kind: 'Secret'
  metadata: { name: string; namespace: string; labels?: unknown; annotations?: unknown }
  type?: unknown
  data?: unknown
}

export async function saveSecrets(ctx: StepContext): Promise<string> {
  if (ctx.facts.interrupted) {
    const saved = await readSaved(ctx)
    await ctx.writePrivateFile(ctx.secretsFile, saved.secrets)
    const names = (JSON.parse(saved.secrets) as SavedSecret[]).map(
      s => `${s.metadata.namespace}/${s.metadata.name}`
    )
    return `taken from ${cmd.SAVED_NAMESPACE}/${cmd.SAVED_NAME}: ${names.join(', ') || 'none'}`
  }
  const wanted = secretsToSave(ctx.settings)
  const found = await Promise.all(
    wanted.map(async s => {
      const out = await ctx.runner.run(cmd.readSecret(s.namespace, s.name))
      const obj = parseJson(out.stdout, 'secret') as
        | { metadata?: { labels?: unknown; annotations?: unknown }; type?: unknown; data?: unknown }
        | undefined
      if (!obj) return undefined
      // Server-owned fields (uid, resourceVersion, ownerReferences) must not be replayed.
      const saved: SavedSecret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: s.name,
          namespace: s.namespace,
          labels: obj.metadata?.labels,
          annotations: obj.metadata?.annotations
        },
        type: obj.type,
        data: obj.data
      }
      return saved
    })
  )
  const saved = found.filter((s): s is SavedSecret => s !== undefined)
  const encryption = ctx.settings.encryptionConfigSecretName
  if (encryption && !saved.some(s => s.metadata.name === encryption)) {
    throw new StepFailure(
      `The encryption config Secret ${cmd.BACKUP_NAMESPACE}/${encryption} is missing; nothing was deleted.`,
      'An encrypted backup cannot be restored without it: recreate it, then re-run.'
    )
  }
  await ctx.writePrivateFile(ctx.secretsFile, JSON.stringify(saved))
  // The runner's files die with the runner; the cluster copy outlives cleanup for a re-run.
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
  await ctx.runner.run(cmd.applyFromStdin(JSON.stringify(savedStateManifest(state))))
  const names = saved.map(s => `${s.metadata.namespace}/${s.metadata.name}`).join(', ')
  return `${saved.length === 0 ? 'no Secrets to save' : `saved ${names}`}; values and Secrets kept in ${cmd.SAVED_NAMESPACE}/${cmd.SAVED_NAME}`
}

/** The reinstall is verified: the safety copy has done its job and holds secrets, so it goes. */
export async function forgetSaved(ctx: StepContext): Promise<string> {
  await ctx.runner.run(cmd.deleteObject('secret', cmd.SAVED_NAME, cmd.SAVED_NAMESPACE))
  return `deleted ${cmd.SAVED_NAMESPACE}/${cmd.SAVED_NAME}`
}

export async function recreateSecrets(ctx: StepContext): Promise<string> {
  const saved = JSON.parse(await ctx.readPrivateFile(ctx.secretsFile)) as SavedSecret[]
  if (saved.length === 0) return 'nothing was saved: nothing to recreate'
  const namespaces = [...new Set(saved.map(s => s.metadata.namespace))].map(name => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name }
  }))
  await ctx.runner.run(
    cmd.applyFromStdin(
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...namespaces, ...saved] })
    )
  )
  return `recreated ${saved.map(s => `${s.metadata.namespace}/${s.metadata.name}`).join(', ')}`
}

export async function createS3Secret(ctx: StepContext): Promise<string> {
  const { s3 } = ctx.settings
  const manifest = s3CredentialSecretManifest(
    s3.credentialSecretName,
    s3.credentialSecretNamespace,
    s3.accessKey,
    s3.secretKey
  )
  await ctx.runner.run(cmd.applyFromStdin(JSON.stringify(manifest)))
  return `created ${s3.credentialSecretNamespace}/${s3.credentialSecretName} from s3-access-key/s3-secret-key`
}
