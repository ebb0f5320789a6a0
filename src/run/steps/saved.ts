/**
 * What the cleanup path keeps before it deletes anything, shared by the steps that save it
 * (save-values, save-secrets) and the one that takes it back when resuming (take-saved).
 * Contents go to 0600 files and stdin only, never to logs or the summary.
 */
import { load } from 'js-yaml'
import type { Settings } from '../../inputs/settings.js'
import { BACKUP_NAMESPACE } from '../../kube/names.js'
import { StepFailure } from '../step.js'

/** Secrets cleanup deletes and the reinstall needs back: the encryption config and Rancher's TLS. */
export function secretsToSave(settings: Settings): { namespace: string; name: string }[] {
  return [
    ...(settings.encryptionConfigSecretName
      ? [{ namespace: BACKUP_NAMESPACE, name: settings.encryptionConfigSecretName }]
      : []),
    ...['tls-rancher-ingress', 'tls-ca', 'tls-ca-additional'].map(name => ({
      namespace: settings.namespace,
      name
    }))
  ]
}

export interface SavedSecret {
  apiVersion: 'v1'
  kind: 'Secret'
  metadata: { name: string; namespace: string; labels?: unknown; annotations?: unknown }
  type?: unknown
  data?: unknown
}

export const secretNames = (saved: { namespace: string; name: string }[]): string =>
  saved.map(s => `${s.namespace}/${s.name}`).join(', ')

/** The reinstall needs the values, and the rancher chart refuses to install without a hostname. */
export function hostnameOf(text: string, settings: Settings): string {
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
  return hostname
}
