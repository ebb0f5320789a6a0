import { describe, expect, it } from 'vitest'
import { operatorLockVerdict } from '../src/decide/operator-lock.js'

const restore = {
  name: 'rollback-2-8-5-to-2-8-4-20261202t025143',
  uid: '31896133-de53-48d4-a524-7f2f08229d75'
}
const mine = `${restore.name}:${restore.uid}`

/** As `kubectl get lease restore-controller -o json` prints BRO's Lease (no times: BRO sets none). */
const lease = (holder: string | undefined) => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: {
    name: 'restore-controller',
    namespace: 'cattle-resources-system',
    resourceVersion: '4242'
  },
  spec: holder === undefined ? {} : { holderIdentity: holder }
})

/**
 * Lines in BRO's format: logrus with ForceColors (the colour codes kept), after `kubectl logs
 * --prefix`; the texts are lasso's `error syncing '%s': %s, requeuing`, its `handler restore: `
 * wrapper and BRO's Lock/`Processing Restore CR %v` (controller.go v4.0.4).
 */
const line = (level: 'INFO' | 'ERRO', text: string) =>
  `[pod/rancher-backup-665557dd54-86gc7/rancher-backup] \x1b[31m${level}\x1b[0m[2026/12/02 02:52:07] ${text}`
const jammed = line(
  'ERRO',
  `error syncing '${restore.name}': handler restore: restore ${mine} is in progress, requeuing`
)
const refused = line(
  'ERRO',
  `error syncing '${restore.name}': handler restore: connect: connection refused, requeuing`
)
const processing = line('INFO', `Processing Restore CR ${restore.name}`)

describe('operatorLockVerdict', () => {
  it('releases the Lease when the operator fails this Restore on a lock this Restore holds', () => {
    const v = operatorLockVerdict(
      lease(mine),
      restore,
      [processing, refused, jammed, jammed].join('\n')
    )
    expect(v).toEqual({
      action: 'release',
      holder: mine,
      evidence: `ERRO[2026/12/02 02:52:07] error syncing '${restore.name}': handler restore: restore ${mine} is in progress, requeuing`,
      // The Update the failed Unlock would have made: same object and resourceVersion, no holder.
      unlocked: { ...lease(undefined), metadata: lease(mine).metadata }
    })
  })

  it.each([
    ['the Lease is free', lease(undefined), [jammed]],
    ['the Lease is absent', undefined, [jammed]],
    [
      'another Restore holds it (a real second Restore waits its turn)',
      lease('other:1234'),
      [jammed]
    ],
    ['an older Restore of the same name holds it', lease(`${restore.name}:0000`), [jammed]],
    ['a pass is running now (it started after the jammed one)', lease(mine), [jammed, processing]],
    ['the operator has said nothing of this Restore yet', lease(mine), []],
    ['the last failure was the outage itself, not the lock', lease(mine), [jammed, refused]],
    [
      'the jam is another Restore’s',
      lease(mine),
      [
        line(
          'ERRO',
          `error syncing 'other': handler restore: restore ${mine} is in progress, requeuing`
        )
      ]
    ]
  ])('leaves it alone when %s', (_why, l, lines) => {
    expect(operatorLockVerdict(l, restore, lines.join('\n'))).toEqual({ action: 'none' })
  })

  it('does nothing without the Restore’s uid', () => {
    expect(operatorLockVerdict(lease(mine), { ...restore, uid: '' }, jammed)).toEqual({
      action: 'none'
    })
  })
})
