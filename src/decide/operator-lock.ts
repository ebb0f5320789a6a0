/**
 * The backup operator's own lock, and the one way it jams. Every BRO release from v1.2.1 to v11.0.1
 * (pkg/controllers/restore/controller.go: v4.0.4 l. 136-139 and 832-870) takes the Lease
 * `restore-controller` before a Restore pass and gives it back in a `defer h.Unlock(…)` whose error
 * is dropped. When the API server is away at that moment, the Unlock fails, the Lease keeps the
 * Restore's own name as holder, and every later pass of that same Restore fails its Lock with
 * `restore <name>:<uid> is in progress`: lasso requeues it for ever (up to every 2 minutes), and
 * only an operator restart (Register deletes a leftover Lease) or a hand edit frees it.
 *
 * A pass of one Restore never overlaps another pass of it (one worker per key), so that error on
 * this Restore's own key, naming this Restore as the holder, proves the deadlock; the remedy is
 * exactly the Update the failed Unlock would have made: the holder cleared, at the resourceVersion
 * read, so nothing that changed meanwhile is overwritten.
 */
import { asObject, asString } from '../facts/json-fields.js'

export type OperatorLockVerdict =
  | { action: 'none' }
  | {
      action: 'release'
      holder: string
      /** The operator's log line that proves it. */
      evidence: string
      /** The Lease as read, with its holder cleared: what the failed Unlock would have written. */
      unlocked: Record<string, unknown>
    }

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g

/**
 * `lease`: `kubectl get lease restore-controller -o json` (undefined when absent); `restore`: this
 * run's Restore; `log`: the operator's log, oldest line first.
 */
export function operatorLockVerdict(
  lease: unknown,
  restore: { name: string; uid: string },
  log: string
): OperatorLockVerdict {
  if (restore.name === '' || restore.uid === '') return { action: 'none' }
  const o = asObject(lease)
  const spec = asObject(o.spec)
  const holder = asString(spec.holderIdentity)
  const mine = `${restore.name}:${restore.uid}`
  if (holder !== mine) return { action: 'none' }

  // The last thing the operator said about this Restore: a pass starting, or a pass failing.
  const about = log
    .split('\n')
    .map(line => line.replace(ANSI, '').trimEnd())
    .filter(
      line =>
        line.includes(`Processing Restore CR ${restore.name}`) ||
        line.includes(`error syncing '${restore.name}'`)
    )
    .at(-1)
  // lasso: `error syncing '%s': %s, requeuing`; sharedhandler: `handler restore: `; BRO Lock.
  const jammed = `error syncing '${restore.name}': handler restore: restore ${mine} is in progress`
  if (about === undefined || !about.includes(jammed)) return { action: 'none' }

  const { holderIdentity: _released, ...rest } = spec
  return {
    action: 'release',
    holder,
    evidence: about.replace(/^\[pod\/[^\]]*\] /, ''),
    unlocked: { ...o, spec: rest }
  }
}
