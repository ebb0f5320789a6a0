/**
 * Issue 11, the three-step upgrade workflow on the testbed: a world with no backup; the companion
 * (backup/action.yml → dist/backup/index.js, Node 24, as a runner runs it) takes one; an upgrade
 * fails; the rollback action with the companion's `backup-filename` brings the previous version
 * back. Also: its dry run creates nothing, and a re-run after it was killed mid-wait finds the
 * Backup the killed attempt created instead of taking a second one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stepStart } from '../../testbed/run-action.js'
import { ENCRYPTION_CONFIG, ENCRYPTION_SECRET, type World } from '../../testbed/scenario.js'
import { act, helmUpgrade, history, image, log, world } from './support.js'

const COMPANION = { action: 'backup/action.yml' }

async function backups(w: World): Promise<string[]> {
  const out = await w.kubectl(['get', 'backups.resources.cattle.io', '-o', 'name'])
  return out
    .split('\n')
    .filter(l => l.trim() !== '')
    .map(l => l.replace(/^.*\//, ''))
    .sort()
}

describe('backup companion: back up, a failed upgrade, roll back with that very file', () => {
  let w: World
  let uid: string
  let filename = ''
  beforeAll(async () => {
    w = await world({ install: '2.8.4', backup: false })
    uid = (
      await w.kubectl(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'])
    ).trim()
  })
  afterAll(() => w?.stop())

  it('a dry run plans the Backup and creates nothing', async () => {
    const r = await act(w, { 'dry-run': 'true' }, { ...COMPANION, env: { GITHUB_RUN_ID: '7001' } })
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs).toMatchObject({
      status: 'planned',
      'backup-filename': '',
      'backup-name': 'pre-upgrade-7001-1',
      'rancher-version': '2.8.4'
    })
    // The line's default ResourceSet: chart 103 (operator v4) has only rancher-resource-set.
    expect(r.summary).toContain('(ResourceSet rancher-resource-set)')
    expect(r.summary).toContain('POST /apis/resources.cattle.io/v1/backups')
    expect(r.log).not.toMatch(/\[command\] POST/)
    expect(await backups(w)).toEqual([])
    expect(await w.s3.listKeys()).toEqual([])
  })

  it('refuses, creating nothing, without the ResourceSet or a ready operator', async () => {
    const noSet = await act(
      w,
      { 'resource-set-name': 'rancher-resource-set-nope' },
      { ...COMPANION, env: { GITHUB_RUN_ID: '7000' } }
    )
    expect(noSet.exitCode).toBe(1)
    expect(noSet.outputs.status).toBe('refused')
    expect(noSet.summary).toContain('rancher-resource-set-nope')
    const ns = ['-n', 'cattle-resources-system']
    await w.kubectl(['scale', 'deploy/rancher-backup', ...ns, '--replicas=0'])
    await w.kubectl([
      'wait',
      'pod',
      '-l',
      'app.kubernetes.io/name=rancher-backup',
      ...ns,
      '--for=delete',
      '--timeout=60s'
    ])
    try {
      const down = await act(w, {}, { ...COMPANION, env: { GITHUB_RUN_ID: '7000' } })
      expect(down.outputs.status).toBe('refused')
      expect(down.summary).toMatch(/operator .* is not ready/)
    } finally {
      await w.kubectl(['scale', 'deploy/rancher-backup', ...ns, '--replicas=1'])
      await w.kubectl(['rollout', 'status', 'deploy/rancher-backup', ...ns, '--timeout=120s'])
    }
    expect(await backups(w)).toEqual([])
  })

  it('takes a backup: its file is in S3 and carries the kube-system UID', async () => {
    const r = await act(w, {}, { ...COMPANION, env: { GITHUB_RUN_ID: '7002' } })
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs).toMatchObject({
      status: 'succeeded',
      'backup-name': 'pre-upgrade-7002-1',
      'rancher-version': '2.8.4'
    })
    filename = r.outputs['backup-filename'] ?? ''
    expect(filename).toMatch(
      new RegExp(
        `^pre-upgrade-7002-1-${uid}-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z\\.tar\\.gz$`
      )
    )
    expect(await w.s3.listKeys()).toEqual([filename])
    expect((await w.s3.getObject(filename))?.length ?? 0).toBeGreaterThan(0)
    expect(r.summary).toContain(`backup-filename: ${filename}`)
    expect(r.log).toMatch(
      /\[command\] kubectl wait backups\.resources\.cattle\.io\/pre-upgrade-7002-1 --for=condition=Ready=True/
    )
    expect(r.post.exitCode, r.post.log).toBe(0)
    expect(await backups(w)).toEqual(['pre-upgrade-7002-1'])
  })

  it('a re-run after the companion was killed in its wait finds that Backup, takes no other', async () => {
    const killed = await act(
      w,
      {},
      { ...COMPANION, env: { GITHUB_RUN_ID: '7003' }, killAt: stepStart('Wait for Backup') }
    )
    expect(killed.killedAt, killed.log).toBeDefined()
    expect(killed.leftovers).toEqual([])
    expect(await backups(w)).toContain('pre-upgrade-7003-1')
    const again = await act(
      w,
      {},
      { ...COMPANION, env: { GITHUB_RUN_ID: '7003', GITHUB_RUN_ATTEMPT: '2' } }
    )
    expect(again.exitCode, again.log).toBe(0)
    expect(again.outputs).toMatchObject({
      status: 'succeeded',
      'backup-name': 'pre-upgrade-7003-1'
    })
    expect(again.outputs['backup-filename']).toMatch(new RegExp(`^pre-upgrade-7003-1-${uid}-`))
    expect(again.log).not.toMatch(/\[command\] POST/)
    expect(again.summary).toContain('earlier attempt')
    expect((await backups(w)).filter(b => b.startsWith('pre-upgrade-7003-'))).toEqual([
      'pre-upgrade-7003-1'
    ])
  })

  it('an upgrade to 2.8.6 fails; the rollback with the companion’s file brings 2.8.4 back', async () => {
    expect(filename).not.toBe('')
    const upgraded = await helmUpgrade(w, '2.8.6', '20s').then(
      () => true,
      (e: Error) => {
        log(`upgrade to 2.8.6 failed, as planned: ${e.message.split('\n')[0]}`)
        return false
      }
    )
    expect(upgraded).toBe(false)
    expect((await history(w)).at(-1)).toMatchObject({ status: 'failed', app_version: 'v2.8.6' })

    const r = await act(w, { 'backup-filename': filename })
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs).toMatchObject({
      status: 'succeeded',
      procedure: 'in-place',
      'from-version': '2.8.6',
      'to-version': '2.8.4'
    })
    expect(r.summary).toContain(filename)
    expect(await image(w)).toBe('rancher/rancher:v2.8.4')
    expect((await history(w)).at(-1)).toMatchObject({ status: 'deployed', app_version: 'v2.8.4' })
  })
})

describe('backup companion on the 2.12 line (rancher-backup 107, operator v8)', () => {
  let w: World
  beforeAll(async () => {
    w = await world({ install: '2.12.3', backup: false })
  })
  afterAll(() => w?.stop())

  it('takes the line’s default ResourceSet, rancher-resource-set-basic (v8 has no other default)', async () => {
    const r = await act(w, {}, { ...COMPANION, env: { GITHUB_RUN_ID: '8001' } })
    expect(r.exitCode, r.log).toBe(0)
    expect(r.outputs).toMatchObject({ status: 'succeeded', 'rancher-version': '2.12.3' })
    expect(r.summary).toContain('<code>rancher-resource-set-basic</code>')
    expect(await w.s3.listKeys()).toEqual([r.outputs['backup-filename']])
  })

  it('an encrypted full backup into a folder ends in .tar.gz.enc, proven there', async () => {
    await w.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: ENCRYPTION_SECRET, namespace: 'cattle-resources-system' },
        stringData: { 'encryption-provider-config.yaml': ENCRYPTION_CONFIG }
      })
    )
    const r = await act(
      w,
      {
        'resource-set-name': 'rancher-resource-set-full',
        'encryption-config-secret-name': ENCRYPTION_SECRET,
        's3-folder': '/rancher/prod/'
      },
      { ...COMPANION, env: { GITHUB_RUN_ID: '8002' } }
    )
    expect(r.exitCode, r.log).toBe(0)
    const file = r.outputs['backup-filename'] ?? ''
    expect(file).toMatch(/^pre-upgrade-8002-1-[0-9a-f-]{36}-.*\.tar\.gz\.enc$/)
    expect(await w.s3.listKeys('rancher/')).toEqual([`rancher/prod/${file}`])
  })
})
