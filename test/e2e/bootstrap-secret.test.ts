/**
 * rancher/rancher#37060 on the cleanup path: Rancher 2.6.3 installed without bootstrapPassword
 * creates bootstrap-secret itself (no Helm ownership metadata); a backup taken by rancher-backup
 * 2.1.1 (before the operator left that Secret out) holds it; after rancher-cleanup the Restore
 * brings it back, and the 2.6.3 chart, which renders it as a release object once its lookup finds
 * it, can only install if the Secret carries the release's ownership metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorld, type World } from '../../testbed/scenario.js'
import { act, log } from './support.js'

interface SecretMeta {
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

async function bootstrapSecret(w: World): Promise<{ metadata: SecretMeta; password: string }> {
  const s = JSON.parse(
    await w.kubectl(['get', 'secret', 'bootstrap-secret', '-n', 'cattle-system', '-o', 'json'])
  ) as { metadata: SecretMeta; data: { bootstrapPassword: string } }
  return {
    metadata: s.metadata,
    password: Buffer.from(s.data.bootstrapPassword, 'base64').toString('utf8')
  }
}

describe('cleanup-and-reinstall 2.6.5 → 2.6.3 when Rancher created bootstrap-secret', () => {
  let w: World
  let password: string
  beforeAll(async () => {
    w = await startWorld({
      install: '2.6.3',
      bootstrapPassword: false,
      backupChart: '2.1.1',
      resourceSet: 'rancher-resource-set',
      upgradeTo: ['2.6.5'],
      log
    })
    const before = await bootstrapSecret(w)
    // Rancher's own Secret, re-created by 2.6.5's hook with the same password: still not Helm's.
    expect(before.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined()
    password = before.password
  })
  afterAll(() => w?.stop())

  it('adopts the restored Secret into the release before helm install, as its dry run listed', async () => {
    const inputs = { 'backup-filename': w.backupFilename, 'allow-downtime': 'true' }
    const dry = await act(w, { ...inputs, 'dry-run': 'true' })
    expect(dry.outputs.status).toBe('planned')
    const plan = JSON.parse(dry.outputs.plan!) as { id: string; commands: string[] }[]
    const ids = plan.map(s => s.id)
    expect(ids.indexOf('adopt-restored')).toBe(ids.indexOf('restore') + 1)
    expect(ids.indexOf('helm-install')).toBe(ids.indexOf('adopt-restored') + 1)
    const patch = plan
      .find(s => s.id === 'adopt-restored')!
      .commands.find(c => c.startsWith('kubectl patch secret bootstrap-secret'))
    expect(patch).toBeDefined()

    const r = await act(w, inputs)
    expect(r.exitCode, r.log).toBe(0)
    expect(r.log).not.toContain('invalid ownership metadata')
    expect(r.outputs).toMatchObject({ status: 'succeeded', 'to-version': '2.6.3' })
    expect(r.log).toContain(`[command] ${patch}`)
    expect(r.summary).toContain('bootstrap-secret')

    // The restored Secret, now the release's, with the password it had: nothing was lost.
    const after = await bootstrapSecret(w)
    expect(after.password).toBe(password)
    expect(after.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'Helm' })
    expect(after.metadata.annotations).toMatchObject({
      'meta.helm.sh/release-name': 'rancher',
      'meta.helm.sh/release-namespace': 'cattle-system'
    })
    const manifest = await w.helm(['get', 'manifest', 'rancher', '-n', 'cattle-system'])
    expect(manifest).toContain('name: "bootstrap-secret"')
    // Masked as soon as it was read: its `::add-mask::` line (which the runner consumes) is the
    // only place it appears.
    const shown = r.log
      .split('\n')
      .filter(l => !l.startsWith('::add-mask::'))
      .join('\n')
    expect(r.log.split('\n')).toContain(`::add-mask::${password}`)
    for (const text of [shown, r.summary, JSON.stringify(r.outputs)]) {
      expect(text).not.toContain(password)
    }
  })
})
