/**
 * Reading Restore objects (resources.cattle.io/v1) the way the backup-restore operator writes them:
 * - success: Ready=True with message `Completed`, and `status.restoreCompletionTs` set; a completed
 *   Restore is never reconciled again;
 * - error: a `Reconciling` condition with status False and reason `Error` (Ready says `Retrying`);
 *   the operator retries forever, so this is not terminal: the caller owns the deadline;
 * - in progress: nothing is written until it finishes or errors.
 */
import type { RestoreCondition, RestoreFacts } from './cluster-facts.js'
import { asObject, asString } from './json-fields.js'

export type RestoreState = 'completed' | 'error' | 'pending'

export interface RestoreStatus {
  state: RestoreState
  conditions: RestoreCondition[]
  /** One line for logs and the summary. */
  message: string
}

function same(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.toLowerCase()
}

function parseConditions(v: unknown): RestoreCondition[] {
  if (!Array.isArray(v)) return []
  return v.map(item => {
    const c = asObject(item)
    return {
      type: asString(c.type),
      status: asString(c.status),
      reason: asString(c.reason),
      message: asString(c.message),
      lastUpdateTime: asString(c.lastUpdateTime) || asString(c.lastTransitionTime)
    }
  })
}

export function interpretRestore(obj: unknown): RestoreStatus {
  const status = asObject(asObject(obj).status)
  const conditions = parseConditions(status.conditions)
  const ready = conditions.find(c => same(c.type, 'Ready'))
  const completionTs = asString(status.restoreCompletionTs)

  const readyCompleted =
    ready !== undefined && same(ready.status, 'True') && same(ready.message, 'Completed')
  if (readyCompleted || completionTs !== '') {
    return {
      state: 'completed',
      conditions,
      message: completionTs === '' ? 'Completed' : `Completed at ${completionTs}`
    }
  }

  const failed = conditions.find(
    c => same(c.type, 'Reconciling') && same(c.status, 'False') && same(c.reason, 'Error')
  )
  if (failed !== undefined) {
    return {
      state: 'error',
      conditions,
      message: failed.message || 'the operator reports an error'
    }
  }
  if (ready !== undefined && same(ready.message, 'Retrying')) {
    const other = conditions.find(c => c !== ready && c.message !== '')
    return {
      state: 'error',
      conditions,
      message: other?.message || 'the operator is retrying the restore'
    }
  }

  const said = conditions.find(c => c.message !== '')
  return {
    state: 'pending',
    conditions,
    message:
      said?.message ||
      'in progress: the operator writes no status until the restore finishes or fails'
  }
}

function restoreFacts(item: unknown): RestoreFacts {
  const o = asObject(item)
  const metadata = asObject(o.metadata)
  const spec = asObject(o.spec)
  const status = interpretRestore(o)
  const completed = status.state === 'completed'
  const labels = Object.fromEntries(
    Object.entries(asObject(metadata.labels)).map(([k, v]) => [k, asString(v)])
  )
  return {
    name: asString(metadata.name),
    labels,
    backupFilename: asString(spec.backupFilename),
    conditions: status.conditions,
    completed,
    inProgress: !completed
  }
}

/**
 * `kubectl get restores.resources.cattle.io -o json` (a List; a single Restore is accepted too)
 * → facts, in the order given. '' → []. Anything that is not JSON throws: not knowing whether a
 * Restore is running must not read as "none".
 */
export function parseRestoreList(kubectlJson: string): RestoreFacts[] {
  if (kubectlJson.trim() === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(kubectlJson)
  } catch {
    throw new Error(`Could not parse the Restore list as JSON: ${kubectlJson.slice(0, 200)}`)
  }
  const o = asObject(parsed)
  if (Array.isArray(o.items)) return o.items.map(restoreFacts)
  if (asString(o.kind) === 'Restore') return [restoreFacts(o)]
  return []
}
