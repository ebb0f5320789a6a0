/**
 * Rancher 2.13+ runs Cluster API under Rancher Turtles (cattle-turtles-system, core CAPI in
 * cattle-capi-system) instead of rancher-provisioning-capi, and rancher-cleanup v1.0.3 knows
 * neither namespace nor the CAPI webhook configurations. A cleanup-and-reinstall from 2.14.1 back
 * to 2.13.3 must leave nothing of 2.14's Turtles behind: what the target's Rancher runs afterwards
 * is its own, installed fresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { turtlesChartVersionFor } from '../../testbed/services/chart-repo.js'
import { startWorld, type World } from '../../testbed/scenario.js'
import { act, log, storedVersions } from './support.js'

const TURTLES_NS = 'cattle-turtles-system'
const CAPI_NS = 'cattle-capi-system'
const WEBHOOKS = [
  'validatingwebhookconfiguration/capi-validating-webhook-configuration',
  'mutatingwebhookconfiguration/capi-mutating-webhook-configuration'
]

async function releases(w: World): Promise<{ name: string; namespace: string; chart: string }[]> {
  return JSON.parse(await w.helm(['list', '-A', '-o', 'json']))
}

const uid = (w: World, what: string) =>
  w.kubectl(['get', what, '--ignore-not-found', '-o', 'jsonpath={.metadata.uid}'])

describe('cleanup-and-reinstall 2.14.1 → 2.13.3 on a Turtles world', () => {
  let w: World
  beforeAll(async () => {
    const started = Date.now()
    w = await startWorld({ install: '2.13.3', upgradeTo: ['2.14.1'], log })
    log(`world ready in ${Math.round((Date.now() - started) / 1000)}s`)
  })
  afterAll(() => w?.stop())

  it('2.14.1 runs Turtles and core CAPI as upstream installs them, and no provisioning-capi', async () => {
    expect(await releases(w)).toContainEqual(
      expect.objectContaining({
        name: 'rancher-turtles',
        namespace: TURTLES_NS,
        chart: `rancher-turtles-${turtlesChartVersionFor('2.14.1')}`
      })
    )
    expect((await releases(w)).map(r => r.name)).not.toContain('rancher-provisioning-capi')
    expect(await uid(w, 'namespace/cattle-provisioning-capi-system')).toBe('')
    for (const webhook of WEBHOOKS) {
      const service =
        '{.webhooks[0].clientConfig.service.name}.{.webhooks[0].clientConfig.service.namespace}'
      expect(await w.kubectl(['get', webhook, '-o', `jsonpath=${service}`])).toBe(
        `capi-webhook-service.${CAPI_NS}`
      )
      expect(await w.kubectl(['get', webhook, '-o', 'jsonpath={.webhooks[0].failurePolicy}'])).toBe(
        'Fail'
      )
    }
  })

  it("removes 2.14's Turtles and CAPI after rancher-cleanup, as planned; 2.13.3 installs its own", async () => {
    const before = new Map<string, string>()
    for (const what of [`namespace/${TURTLES_NS}`, `namespace/${CAPI_NS}`, ...WEBHOOKS])
      before.set(what, await uid(w, what))
    expect([...before.values()].every(u => u !== '')).toBe(true)

    const inputs = {
      'target-version': '2.13.3',
      'backup-filename': 'latest',
      'allow-downtime': 'true'
    }
    const dry = await act(w, { ...inputs, 'dry-run': 'true' })
    expect(dry.outputs.status, dry.log).toBe('planned')
    const r = await act(w, inputs)
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs).toMatchObject({
      status: 'succeeded',
      procedure: 'cleanup-and-reinstall',
      'from-version': '2.14.1',
      'to-version': '2.13.3'
    })
    const plan = JSON.parse(dry.outputs.plan!) as { id: string; commands: string[] }[]
    const ids = plan.map(s => s.id)
    expect(ids.indexOf('remove-turtles')).toBe(ids.indexOf('cleanup') + 1)
    expect(plan.find(s => s.id === 'remove-turtles')!.commands.join('\n')).toContain(
      `kubectl delete namespace ${TURTLES_NS} ${CAPI_NS} --ignore-not-found --wait=true --timeout=300s`
    )

    // verify.sh greps the embedded CAPI names unanchored: had they survived, it would list them.
    expect(r.log).not.toContain('admissionregistration.k8s.io/capi-')

    // What runs now is the target's own Turtles, created after the run: nothing of 2.14's is left.
    const all = await releases(w)
    expect(all).toContainEqual(
      expect.objectContaining({
        name: 'rancher-turtles',
        namespace: TURTLES_NS,
        chart: `rancher-turtles-${turtlesChartVersionFor('2.13.3')}`
      })
    )
    expect(all.map(x => x.name)).not.toContain('rancher-provisioning-capi')
    for (const what of before.keys()) {
      await w.kubectl(['wait', '--for=create', what, '--timeout=120s'])
      const now = await uid(w, what)
      expect(now, what).not.toBe('')
      expect(now, `${what} is the one 2.14.1 left`).not.toBe(before.get(what))
    }
    expect(
      await w.kubectl([
        'get',
        WEBHOOKS[0]!,
        '-o',
        'jsonpath={.webhooks[0].clientConfig.service.path}'
      ])
    ).toBe('/validate-cluster-x-k8s-io-v1beta1-cluster')
    expect(await storedVersions(w, 'clusters.cluster.x-k8s.io')).toBe('["v1beta1"]')
  })
})
