/**
 * A re-run after a run that died mid-way (issue 8): the bundled action is SIGKILLed while it waits
 * on its Restore, and a re-run with the same inputs adopts that Restore and finishes the rollback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorld, type World } from '../../testbed/scenario.js'
import { act, log } from './support.js'

async function restores(
  w: World
): Promise<{ name: string; ready?: { status: string; message: string } }[]> {
  const list = JSON.parse(await w.kubectl(['get', 'restores.resources.cattle.io', '-o', 'json']))
  return list.items.map(
    (r: { metadata: { name: string }; status?: { conditions?: { type: string }[] } }) => ({
      name: r.metadata.name,
      ready: r.status?.conditions?.find(c => c.type === 'Ready')
    })
  )
}

/** Polls a read until it holds; a deadline, never a fixed sleep. */
async function until(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise(r => setTimeout(r, 250))
  }
}

/**
 * The operator's own lock (backup-restore-operator controller.go Lock: Lease restore-controller in
 * its namespace), held as by another Restore: the operator retries ours without writing a status,
 * so it stays in flight for as long as the test needs, where the simulated operator would finish
 * in seconds what takes minutes on a real cluster.
 */
const OPERATOR_LEASE = ['lease', 'restore-controller', '-n', 'cattle-resources-system']

describe('in-place 2.8.5 → 2.8.4, run killed during its Restore wait, then re-run', () => {
  let w: World
  beforeAll(async () => {
    w = await startWorld({ install: '2.8.4', upgradeTo: ['2.8.5'], log })
  })
  afterAll(() => w?.stop())

  it('the re-run adopts the Restore the killed run created and ends succeeded', async () => {
    await w.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'restore-controller', namespace: 'cattle-resources-system' },
        spec: { holderIdentity: 'another-restore' }
      })
    )
    const inputs = { 'target-version': 'previous', 'backup-filename': 'latest' }
    const killed = await act(w, inputs, { killOn: /Waiting for Restore rollback-/ })
    expect(killed.outputs.status).toBeUndefined() // died before writing its outputs
    const [created, ...others] = await restores(w)
    expect(others).toEqual([])
    expect(created?.name).toMatch(/^rollback-2-8-5-to-2-8-4-/)
    expect(created?.ready).toBeUndefined() // in flight: the operator has written nothing

    // The killed run's Lease lapses within a minute and a re-run takes it over (lock.test.ts);
    // deleted here so that this test can tell when the re-run holds the lock.
    await w.kubectl(['delete', 'lease', 'rancher-rollback', '-n', 'kube-system'])

    let ended = false
    const rerun = act(w, inputs).finally(() => (ended = true))
    // Free the operator only once the re-run holds the lock: it has decided, with the Restore
    // still in flight. (A re-run that refuses ends without taking it.)
    await until('the re-run takes the lock', async () => {
      if (ended) return true
      const lease = await w.kubectl(['get', 'lease', 'rancher-rollback', '-n', 'kube-system'])
      return lease.includes('rancher-rollback')
    })
    await w.kubectl(['delete', ...OPERATOR_LEASE])
    const r = await rerun

    expect(r.outputs.status, r.log.slice(-3000)).toBe('succeeded')
    expect(r.outputs['restore-name']).toBe(created!.name)
    expect(r.summary).toContain(`Adopt Restore ${created!.name}`)
    const after = await restores(w)
    expect(after.map(x => x.name)).toEqual([created!.name]) // no second Restore
    expect(after[0]?.ready).toMatchObject({ status: 'True', message: 'Completed' })
    const history = JSON.parse(
      await w.helm(['history', 'rancher', '-n', 'cattle-system', '-o', 'json'])
    ) as { status: string; app_version: string }[]
    expect(history.at(-1)).toMatchObject({ status: 'deployed', app_version: 'v2.8.4' })
  })
})
