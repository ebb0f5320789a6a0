/**
 * Version gates of the simulated backup-restore operator (testbed/sim/operator/versions.ts),
 * each checked at the release tags around its boundary, through the sim's own restore code over
 * an in-memory API server. The boundaries are those of rancher/backup-restore-operator's tags
 * (`git tag --contains`, `git show <tag>:<path>`), named in versions.ts.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { KubeApi, KubeApiError, type KubeObject } from '../testbed/cluster/kube-api.js'
import type { RestoreObject } from '../testbed/sim/operator/api-types.js'
import { EncryptionTransformers } from '../testbed/sim/operator/crypto.js'
import { operatorVersion } from '../testbed/sim/operator/operator.js'
import { onRestoreChange } from '../testbed/sim/operator/restore.js'
import { restoreCRDs } from '../testbed/sim/operator/restore-crds.js'
import {
  downloadFromS3,
  loadFromTarGzip,
  type ObjInfo
} from '../testbed/sim/operator/restore-load.js'
import {
  customize,
  isSettingsWebhookError,
  restoreFromGraph,
  restoreResource
} from '../testbed/sim/operator/restore-objects.js'
import { OperatorRuntime } from '../testbed/sim/operator/runtime.js'
import { featuresOf } from '../testbed/sim/operator/versions.js'

const s3 = vi.hoisted(() => ({
  bucketExists: vi.fn<() => Promise<boolean>>(),
  listKeys: vi.fn<() => Promise<string[]>>()
}))
vi.mock('../testbed/sim/operator/s3.js', () => ({
  bucketExists: s3.bucketExists,
  listKeys: s3.listKeys,
  getObject: vi.fn(),
  putObject: vi.fn()
}))

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g

/** An API server in memory: objects by path, discovery by group/version, scripted refusals. */
class MemoryApi extends KubeApi {
  readonly objects = new Map<string, KubeObject>()
  readonly discovery = new Map<string, { name: string; kind: string; namespaced: boolean }[]>()
  refuse?: (method: string, path: string) => KubeApiError | undefined

  constructor() {
    super({ server: 'https://memory.invalid', token: 'x' })
  }

  override async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const refusal = this.refuse?.(method, path)
    if (refusal) throw refusal
    const served = this.discovery.get(path)
    if (method === 'GET' && served) return { resources: served } as T
    const notFound = () =>
      new KubeApiError(404, 'NotFound', `${path} not found`, { message: `${path} not found` })
    if (method === 'GET') {
      const o = this.objects.get(path)
      if (!o) throw notFound()
      return structuredClone(o) as T
    }
    const obj = structuredClone(body) as KubeObject
    const isStatus = method === 'PUT' && path.endsWith('/status')
    const target =
      method === 'POST' ? `${path}/${obj.metadata.name ?? ''}` : path.replace(/\/status$/, '')
    const old = this.objects.get(target)
    if (method === 'PUT' && !old) throw notFound()
    // As the API server does: the main resource ignores status, /status changes nothing else.
    const next = isStatus ? { ...old, status: obj['status'] } : { ...obj, status: old?.['status'] }
    this.objects.set(target, { ...next, metadata: { ...next.metadata, uid: 'u-1' } } as KubeObject)
    return structuredClone(this.objects.get(target)) as T
  }
}

function operator(tag: string, api = new MemoryApi()) {
  const lines: string[] = []
  const op = new OperatorRuntime(
    api,
    { api, now: () => new Date('2026-12-01T00:00:00Z') },
    'cattle-resources-system',
    operatorVersion(`rancher/backup-restore-operator:${tag}`),
    l => lines.push(l.replace(ANSI, '')),
    new AbortController().signal
  )
  return { op, api, log: () => lines.join('\n') }
}

function info(path: string, data: object): ObjInfo {
  const [dir = '', ...rest] = path.split('/')
  const [rg = '', version = ''] = dir.split('#')
  const dot = rg.indexOf('.')
  const name = (rest[rest.length - 1] ?? '').replace(/\.json$/, '')
  return {
    name,
    namespace: rest.length === 2 ? (rest[0] ?? '') : '',
    gvr: { resource: rg.slice(0, dot), group: rg.slice(dot + 1), version },
    configPath: path,
    data: structuredClone(data) as Record<string, unknown>
  }
}

const SETTING = info('settings.management.cattle.io#v3/server-url.json', {
  apiVersion: 'management.cattle.io/v3',
  kind: 'Setting',
  metadata: { name: 'server-url' },
  value: 'https://rancher.example.com'
})
const SETTING_PATH = '/apis/management.cattle.io/v3/settings/server-url'
// rancher/backup-restore-operator v11.0.1 pkg/controllers/restore/controller_test.go
// TestIsSettingsWebhookError: the messages the API server relays from the webhooks.
const READ_ONLY =
  'admission webhook "rancher.cattle.io.settings" denied the request: setting is read only'
// rancher/webhook pkg/admission CreateWebhookName: "rancher.cattle.io." + the GroupResource; its
// setting validator answers 400 "setting is read only".
const REAL_NAME =
  'admission webhook "rancher.cattle.io.settings.management.cattle.io" denied the request: setting is read only'
const OTHER_WEBHOOK =
  'admission webhook "validation.cattle.io" denied the request: validation failed'
const FAILED_CALL =
  'Internal error occurred: failed calling webhook "rancher.cattle.io.settings": service "rancher-webhook" not found'
const statusError = (code: number, msg: string) =>
  new KubeApiError(code, 'BadRequest', msg, { kind: 'Status', message: msg })

describe('simulated operator: version gates at the upstream tags', () => {
  beforeEach(() => {
    s3.bucketExists.mockReset()
    s3.listKeys.mockReset()
  })

  it('logs the printf messages of every release, v10 and v11 included (no "structured" texts)', async () => {
    for (const tag of ['v2.1.5', 'v10.0.0', 'v11.0.1']) {
      const { op, api, log } = operator(tag)
      const restore: RestoreObject = {
        apiVersion: 'resources.cattle.io/v1',
        kind: 'Restore',
        metadata: { name: 'r1', uid: 'uid-r1' },
        spec: { backupFilename: 'b.tar.gz' }
      }
      api.objects.set('/apis/resources.cattle.io/v1/restores/r1', restore)
      await onRestoreChange(op, 'r1', restore)
      expect(log(), tag).toMatch(/INFO\[[^\]]+\] Processing Restore CR r1 {2,}$/m)
      expect(log(), tag).toContain('Restoring from backup b.tar.gz')
      expect(log(), tag).not.toContain('custom resource')
      const stored = api.objects.get('/apis/resources.cattle.io/v1/restores/r1') as
        RestoreObject | undefined
      // "Backup location …" became "backup location …" in v7.0.0.
      expect(stored?.status?.conditions?.[0]?.message, tag).toBe(
        `${tag === 'v2.1.5' ? 'Backup' : 'backup'} location not specified on the restore CR, and not configured at the operator level`
      )
    }
  })

  it('wraps a failed create as "restoreResource: err creating resource" from v2.1.2', async () => {
    const invalid = 'Setting.management.cattle.io "server-url" is invalid: value: Required value'
    const fail = async (tag: string) => {
      const { op, api } = operator(tag)
      api.refuse = m => (m === 'POST' ? statusError(422, invalid) : undefined)
      return restoreResource(op, structuredClone(SETTING), false).then(
        () => 'restored',
        (e: Error) => e.message
      )
    }
    expect(await fail('v2.1.1')).toBe(invalid)
    expect(await fail('v2.1.2')).toBe(`restoreResource: err creating resource ${invalid}`)
    expect(await fail('v10.0.0')).toBe(`restoreResource: err creating resource ${invalid}`)
  })

  it('drops ownerRefs to a GlobalRole from v7.0.3, v8.1.0 and v9 on; before, the dependent waits', async () => {
    const restored = async (tag: string) => {
      const { op, api, log } = operator(tag)
      api.discovery.set('/apis/management.cattle.io/v3', [
        { name: 'globalroles', kind: 'GlobalRole', namespaced: false },
        { name: 'globalrolebindings', kind: 'GlobalRoleBinding', namespaced: false }
      ])
      const grb = info('globalrolebindings.management.cattle.io#v3/grb-1.json', {
        apiVersion: 'management.cattle.io/v3',
        kind: 'GlobalRoleBinding',
        metadata: {
          name: 'grb-1',
          ownerReferences: [
            { apiVersion: 'management.cattle.io/v3', kind: 'GlobalRole', name: 'admin', uid: 'x' }
          ]
        },
        globalRoleName: 'admin'
      })
      await restoreFromGraph(op, [grb], new Set(), [])
      const obj = api.objects.get('/apis/management.cattle.io/v3/globalrolebindings/grb-1')
      if (obj) {
        expect(obj.metadata.ownerReferences).toBeUndefined()
        expect(log()).toContain(
          'Resource grb-1 of type management.cattle.io/v3, Resource=globalrolebindings has management.cattle.io/v3, Kind=GlobalRole as owner. The OwnerRefs will be dropped.'
        )
      }
      return obj !== undefined
    }
    const tags = ['v7.0.2', 'v7.0.3', 'v8.0.0', 'v8.1.0', 'v9.0.0', 'v10.0.0']
    const results = await Promise.all(tags.map(restored))
    expect(Object.fromEntries(tags.map((t, i) => [t, results[i]]))).toEqual({
      'v7.0.2': false,
      'v7.0.3': true,
      'v8.0.0': false,
      'v8.1.0': true,
      'v9.0.0': true,
      'v10.0.0': true
    })
  })

  it('leaves builtin GlobalRoles and RoleTemplates out of the restore from v7.0.2 and v8.0.0', () => {
    const file = (path: string, obj: object) => ({
      name: path,
      type: 'file' as const,
      data: Buffer.from(JSON.stringify(obj))
    })
    const entries = [
      file('globalroles.management.cattle.io#v3/admin.json', {
        kind: 'GlobalRole',
        metadata: { name: 'admin' },
        builtin: true
      }),
      file('roletemplates.management.cattle.io#v3/project-owner.json', {
        kind: 'RoleTemplate',
        metadata: { name: 'project-owner' },
        builtin: 'true'
      }),
      file('globalroles.management.cattle.io#v3/custom.json', {
        kind: 'GlobalRole',
        metadata: { name: 'custom' },
        builtin: false
      })
    ]
    const loaded = (tag: string) => {
      const objs = loadFromTarGzip(operator(tag).op, entries as never, undefined)
      // Still part of the backup, so prune leaves the live builtins alone.
      expect(objs.resourcesFromBackup.size).toBe(3)
      return objs.clusterScoped.map(o => o.name)
    }
    expect(loaded('v7.0.1')).toEqual(['admin', 'project-owner', 'custom'])
    expect(loaded('v7.0.2')).toEqual(['custom'])
    expect(loaded('v8.0.0')).toEqual(['custom'])
    expect(loaded('v10.0.0')).toEqual(['custom'])
  })

  it('decrypts only JSON strings from v7.0.0; before, a plain file of an encrypted kind fails', () => {
    // The action names the encryption Secret even for a plain .tar.gz backup.
    const config = [
      'apiVersion: apiserver.config.k8s.io/v1',
      'kind: EncryptionConfiguration',
      'resources:',
      '  - resources: [secrets]',
      '    providers:',
      '      - aescbc:',
      '          keys:',
      '            - name: key1',
      `              secret: ${Buffer.alloc(32, 9).toString('base64')}`,
      '      - identity: {}'
    ].join('\n')
    const plain = {
      name: 'secrets.#v1/cattle-system/s1.json',
      type: 'file' as const,
      data: Buffer.from(JSON.stringify({ kind: 'Secret', metadata: { name: 's1' } }))
    }
    const load = (tag: string) => {
      try {
        const objs = loadFromTarGzip(
          operator(tag).op,
          [plain] as never,
          new EncryptionTransformers(config)
        )
        return objs.namespaced.map(o => o.name)
      } catch (e) {
        return (e as Error).message
      }
    }
    const refused =
      'error unmarshaling encrypted data for resource [secrets]: json: cannot unmarshal object into Go value of type []uint8'
    expect(load('v6.0.3')).toBe(refused)
    expect(load('v7.0.0')).toEqual(['s1'])
    expect(load('v10.0.0')).toEqual(['s1'])
  })

  it('v11 skips a Setting the settings webhook denies, with a warning; v10 fails it', async () => {
    const attempt = async (tag: string, existing: boolean, msg: string) => {
      const { op, api, log } = operator(tag)
      if (existing) api.objects.set(SETTING_PATH, structuredClone(SETTING.data) as KubeObject)
      api.refuse = m => (m === 'PUT' || m === 'POST' ? statusError(400, msg) : undefined)
      const outcome = await restoreResource(op, structuredClone(SETTING), false).then(
        () => 'skipped',
        (e: Error) => e.message
      )
      return { outcome, log: log() }
    }
    const v10 = await attempt('v10.0.8', true, READ_ONLY)
    expect(v10.outcome).toBe(`restoreResource: err updating resource ${READ_ONLY}`)
    for (const existing of [true, false]) {
      const v11 = await attempt('v11.0.0', existing, READ_ONLY)
      expect(v11.outcome).toBe('skipped')
      expect(v11.log).toMatch(
        /^WARN\[[^\]]+\] restoreResource: skipping setting server-url due to webhook admission restriction: admission webhook "rancher.cattle.io.settings" denied the request: setting is read only/m
      )
    }
    expect((await attempt('v11.0.1', true, FAILED_CALL)).outcome).toBe(
      `restoreResource: err updating resource ${FAILED_CALL}`
    )
  })

  it('tells a settings-webhook denial apart as upstream does (isSettingsWebhookError cases)', () => {
    const settings = { group: 'management.cattle.io', version: 'v3', resource: 'settings' }
    const deployments = { group: 'apps', version: 'v1', resource: 'deployments' }
    expect(isSettingsWebhookError(settings, statusError(400, READ_ONLY))).toBe(true)
    expect(isSettingsWebhookError(settings, statusError(400, REAL_NAME))).toBe(true)
    expect(isSettingsWebhookError(settings, statusError(400, OTHER_WEBHOOK))).toBe(false)
    expect(isSettingsWebhookError(settings, statusError(500, FAILED_CALL))).toBe(false)
    expect(isSettingsWebhookError(settings, new Error(READ_ONLY))).toBe(false)
    expect(isSettingsWebhookError(deployments, statusError(400, READ_ONLY))).toBe(false)
  })

  it('customizes fleet Clusters from v1.2.1, provisioning ones from v2.0.0, management ones from v3.1.1', () => {
    const customized = (tag: string) => {
      const objs = [
        {
          apiVersion: 'fleet.cattle.io/v1alpha1',
          kind: 'Cluster',
          spec: { redeployAgentGeneration: 2 }
        },
        { apiVersion: 'provisioning.cattle.io/v1', kind: 'Cluster', spec: {} },
        { apiVersion: 'management.cattle.io/v3', kind: 'Cluster', metadata: { annotations: {} } },
        { apiVersion: 'v1', kind: 'ServiceAccount', secrets: [{ name: 't' }] }
      ] as Record<string, unknown>[]
      for (const o of objs) customize(o, featuresOf(operatorVersion(`x:${tag}`)))
      return objs
    }
    const [fleet0, prov0, mgmt0, sa0] = customized('v1.2.0')
    expect(fleet0?.['spec']).toEqual({ redeployAgentGeneration: 2 })
    expect(sa0?.['secrets']).toEqual([{ name: 't' }])
    const [fleet1, prov1, , sa1] = customized('v1.2.1')
    expect(fleet1?.['spec']).toEqual({ redeployAgentGeneration: 3 })
    expect(sa1?.['secrets']).toBeUndefined()
    expect(prov0?.['spec']).toEqual({})
    expect(prov1?.['spec']).toEqual({})
    const [, prov2, mgmt2] = customized('v2.1.5')
    expect(prov2?.['spec']).toEqual({ redeploySystemAgentGeneration: 1 })
    expect(mgmt2?.['metadata']).toEqual({ annotations: {} })
    expect(mgmt0?.['metadata']).toEqual({ annotations: {} })
    expect(customized('v3.1.0')[2]?.['metadata']).toEqual({ annotations: {} })
    expect(customized('v3.1.1')[2]?.['metadata']).toEqual({
      annotations: { 'io.cattle.agent.force.deploy': 'true' }
    })
  })

  it('words S3 errors as before v2.1.2, then with the bucket and prefix (v2.1.2 on)', async () => {
    const restore: RestoreObject = {
      apiVersion: 'resources.cattle.io/v1',
      kind: 'Restore',
      metadata: { name: 'r1' },
      spec: { backupFilename: 'b.tar.gz' }
    }
    const location = { bucketName: 'rb', endpoint: 's3.example.com', folder: 'rancher' }
    const errorOf = async (tag: string) =>
      downloadFromS3(operator(tag).op, restore, location).then(
        () => 'downloaded',
        (e: Error) => e.message
      )
    const messages = async () => Promise.all(['v2.1.1', 'v2.1.2', 'v3.1.2'].map(t => errorOf(t)))

    s3.bucketExists.mockResolvedValue(false)
    expect(await messages()).toEqual([
      'bucket rb is not found',
      's3 bucket [rb] not found',
      's3 bucket [rb] not found'
    ])
    s3.bucketExists.mockRejectedValue(new Error('connect ECONNREFUSED'))
    expect(await messages()).toEqual([
      'failed to check s3 bucket:rb, err:connect ECONNREFUSED',
      'failed to check if s3 bucket [rb] exists, error: connect ECONNREFUSED',
      'failed to check if s3 bucket [rb] exists, error: connect ECONNREFUSED'
    ])
    s3.bucketExists.mockResolvedValue(true)
    s3.listKeys.mockResolvedValue(['rancher/b.tar.gz.enc'])
    expect(await messages()).toEqual([
      'failed to download s3 backup: no backups found',
      'failed to download s3 backup: no backup files found with prefix [rancher/b.tar.gz] in bucket [rb]',
      'failed to download s3 backup: no backup files found with prefix [rancher/b.tar.gz] in bucket [rb]'
    ])
  })

  it('redacts the logged S3 access key from v6.0.3, v7.0.5, v8.1.2 and v9.0.1', async () => {
    s3.bucketExists.mockResolvedValue(true)
    const logged = async (tag: string) => {
      const { op, api, log } = operator(tag)
      const b64 = (t: string) => Buffer.from(t).toString('base64')
      api.objects.set('/api/v1/namespaces/default/secrets/creds', {
        metadata: { name: 'creds' },
        data: { accessKey: b64('AKIAIOSFODNN7EXAMPLE'), secretKey: b64('s') }
      } as KubeObject)
      await op.s3Client({ bucketName: 'rb', credentialSecretName: 'creds' })
      return /s3-accessKey=(\S+)/.exec(log())?.[1]
    }
    const tags = ['v6.0.2', 'v6.0.3', 'v7.0.4', 'v7.0.5', 'v8.1.1', 'v8.1.2', 'v9.0.0', 'v9.0.1']
    const keys = await Promise.all(tags.map(logged))
    const clear = 'AKIAIOSFODNN7EXAMPLE'
    const redacted = '"AKIAI*********"'
    expect(keys).toEqual([clear, redacted, clear, redacted, clear, redacted, clear, redacted])
  })

  it('merges the live CRD versions from v9.0.2 on the v9 line and on v10, not on v8 or v9.0.1', async () => {
    const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.cluster.x-k8s.io'
    const versions = (...names: string[]) =>
      names.map((name, i) => ({ name, served: true, storage: i === 0 }))
    const written = async (tag: string) => {
      const { op, api, log } = operator(tag)
      api.objects.set(CRD, {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'clusters.cluster.x-k8s.io' },
        spec: { versions: versions('v1beta1', 'v1alpha4') },
        status: { conditions: [{ type: 'Established', status: 'True' }] }
      } as KubeObject)
      const crd = info(
        'customresourcedefinitions.apiextensions.k8s.io#v1/clusters.cluster.x-k8s.io.json',
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'clusters.cluster.x-k8s.io' },
          spec: { versions: versions('v1alpha4') }
        }
      )
      await restoreCRDs(op, new Set(), {
        crds: [crd],
        clusterScoped: [],
        namespaced: [],
        resourcesFromBackup: new Set(),
        resourceSet: { metadata: {} }
      })
      const spec = api.objects.get(CRD)?.['spec'] as {
        versions: { name: string; storage: boolean }[]
      }
      return { versions: spec.versions.map(v => [v.name, v.storage]), log: log() }
    }
    const tags = ['v8.1.7', 'v9.0.1', 'v9.0.2', 'v10.0.0']
    const results = await Promise.all(tags.map(written))
    expect(results.map(r => r.versions)).toEqual([
      [['v1alpha4', true]],
      [['v1alpha4', true]],
      [
        ['v1alpha4', true],
        ['v1beta1', false]
      ],
      [
        ['v1alpha4', true],
        ['v1beta1', false]
      ]
    ])
    expect(results[2]?.log).toContain(
      'mergeVersionsFromLiveCRD: merging live versions [v1beta1] into backup CRD clusters.cluster.x-k8s.io to satisfy storedVersions invariant'
    )
  })
})
