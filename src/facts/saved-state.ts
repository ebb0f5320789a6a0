/**
 * The cleanup path's safety net: before rancher-cleanup runs, the release values, the Secrets
 * cleanup deletes and a record of the move are stored in Secret kube-system/rancher-rollback-saved.
 * kube-system survives cleanup and the runner may not, so a re-run can finish the job from it.
 * It is deleted once the reinstalled Rancher is verified.
 */
import type { InterruptedRollback } from './cluster-facts.js'
import { MANAGED_BY_LABELS, SAVED_NAME, SAVED_NAMESPACE } from '../kube/names.js'

const VALUES_KEY = 'values.yaml'
const SECRETS_KEY = 'secrets.json'
const RECORD_KEY = 'record.json'

export interface SavedState {
  record: InterruptedRollback
  /** `helm get values` output (holds the bootstrap password). */
  values: string
  /** JSON array of the saved Secret manifests. */
  secrets: string
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

export function savedStateManifest(state: SavedState): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: SAVED_NAME,
      namespace: SAVED_NAMESPACE,
      labels: { ...MANAGED_BY_LABELS },
      annotations: {
        'rancher-rollback/purpose':
          'Values and Secrets saved before rancher-cleanup; re-run the rancher-rollback action to finish the rollback.'
      }
    },
    data: {
      [RECORD_KEY]: b64(JSON.stringify(state.record)),
      [VALUES_KEY]: b64(state.values),
      [SECRETS_KEY]: b64(state.secrets)
    }
  }
}

/** `kubectl get secret -o json` output → the saved state; undefined when absent or not ours. */
export function parseSavedState(text: string): SavedState | undefined {
  if (text.trim() === '') return undefined
  const obj = JSON.parse(text) as { data?: Record<string, string> }
  const data = obj.data ?? {}
  const read = (key: string) => (data[key] ? Buffer.from(data[key], 'base64').toString('utf8') : '')
  let record: Partial<InterruptedRollback>
  try {
    record = JSON.parse(read(RECORD_KEY)) as Partial<InterruptedRollback>
  } catch {
    return undefined
  }
  if (!record.from || !record.to || !record.release || !record.namespace) return undefined
  return {
    record: {
      from: record.from,
      to: record.to,
      backupFilename: record.backupFilename ?? '',
      release: record.release,
      namespace: record.namespace,
      savedAt: record.savedAt ?? '',
      holder: record.holder ?? ''
    },
    values: read(VALUES_KEY),
    secrets: read(SECRETS_KEY) || '[]'
  }
}
