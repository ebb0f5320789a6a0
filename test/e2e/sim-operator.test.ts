/**
 * The simulated backup-restore operator (testbed/sim/operator/) on the testbed: a real
 * Kubernetes 1.20 control plane, the real helm installing the testbed's rancher,
 * rancher-backup-crd and rancher-backup charts, s3rver, and kubectl reading what the operator
 * wrote. The action's own reader of Restore status (src/facts/restore-status.ts) judges the
 * Restores.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { interpretRestore } from '../../src/facts/restore-status.js'
import {
  CAPI_CRD_PLURALS,
  rancherBackupChartVersionFor,
  startChartRepo,
  type ChartRepo
} from '../../testbed/services/chart-repo.js'
import { startCluster, type Cluster } from '../../testbed/cluster/cluster.js'
import { exec as run } from '../../testbed/exec.js'
import { kpath, type KubeObject } from '../../testbed/cluster/kube-api.js'
import { paths } from '../../testbed/paths.js'
import { startS3, type S3Server } from '../../testbed/services/s3.js'
import {
  LEASE_NAME,
  operatorVersion,
  simulatedOperator
} from '../../testbed/sim/operator/operator.js'
import {
  goJson,
  readTar,
  readTarGz,
  walkOrder,
  writeTar
} from '../../testbed/sim/operator/archive.js'
import { EncryptionTransformers } from '../../testbed/sim/operator/crypto.js'
import { formatColored } from '../../testbed/sim/operator/log.js'
import { lassoBackoffMs } from '../../testbed/sim/operator/queue.js'
import { labelSelectorString } from '../../testbed/sim/operator/resources.js'

const NS = 'cattle-resources-system'
const SELECTOR = 'app.kubernetes.io/name=rancher-backup'
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g
const FILE_RE = (backup: string) =>
  new RegExp(
    `^rancher/${backup}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}Z\\.tar\\.gz$`
  )
const STORED_VERSIONS_REFUSAL =
  'status.storedVersions[1]: Invalid value: "v1beta1": must appear in spec.versions'

function encryptionConfig(key: Buffer): string {
  return [
    'apiVersion: apiserver.config.k8s.io/v1',
    'kind: EncryptionConfiguration',
    'resources:',
    '  - resources: [secrets]',
    '    providers:',
    '      - aescbc:',
    '          keys:',
    '            - name: key1',
    `              secret: ${key.toString('base64')}`,
    '      - identity: {}',
    ''
  ].join('\n')
}

describe('simulated operator: helpers', () => {
  it('writes tar archives in filepath.Walk order that read back, USTAR and PAX names included', () => {
    const files = new Map<string, { data: Buffer; mode?: number }>([
      ['secrets.#v1/cattle-system/s.json', { data: Buffer.from('{}') }],
      ['filters/filters.json', { data: Buffer.from('{"a":1}'), mode: 0o755 }],
      [`${'d'.repeat(80)}/${'f'.repeat(90)}.json`, { data: Buffer.from('ustar prefix') }],
      [`${'p'.repeat(130)}.json`, { data: Buffer.from('pax') }]
    ])
    const entries = walkOrder(files, new Date('2026-11-24T09:00:00Z'))
    expect(entries.map(e => `${e.type} ${e.name}`)).toEqual([
      `dir ${'d'.repeat(80)}`,
      `file ${'d'.repeat(80)}/${'f'.repeat(90)}.json`,
      'dir filters',
      'file filters/filters.json',
      `file ${'p'.repeat(130)}.json`,
      'dir secrets.#v1',
      'dir secrets.#v1/cattle-system',
      'file secrets.#v1/cattle-system/s.json'
    ])
    const back = readTar(writeTar(entries))
    expect(back.map(e => [e.name, e.type, e.mode, e.data?.toString()])).toEqual(
      entries.map(e => [e.name, e.type, e.mode, e.data?.toString()])
    )
  })

  it("encodes JSON as Go's json.Marshal does: sorted keys, HTML-safe", () => {
    expect(goJson({ b: [1, 'x<y&z>'], a: { d: true, c: null } })).toBe(
      '{"a":{"c":null,"d":true},"b":[1,"x\\u003cy\\u0026z\\u003e"]}'
    )
  })

  it('encrypts like the API server (aescbc/aesgcm prefixes) and refuses wrong AAD or keys', () => {
    const t = new EncryptionTransformers(encryptionConfig(Buffer.alloc(32, 1)))
    const secrets = t.for({ group: '', resource: 'secrets' })
    expect(secrets).toBeDefined()
    expect(t.for({ group: '', resource: 'configmaps' })).toBeUndefined()
    const enc = secrets?.toStorage(Buffer.from('{"kind":"Secret"}'), 'ns#name') ?? Buffer.alloc(0)
    expect(enc.subarray(0, 23).toString()).toBe('k8s:enc:aescbc:v1:key1:')
    expect(secrets?.fromStorage(enc, 'ns#name').toString()).toBe('{"kind":"Secret"}')
    expect(secrets?.fromStorage(Buffer.from('{"plain":1}'), 'x').toString()).toBe('{"plain":1}')
    const other = new EncryptionTransformers(encryptionConfig(Buffer.alloc(32, 2)))
    expect(() =>
      other.for({ group: '', resource: 'secrets' })?.fromStorage(enc, 'ns#name')
    ).toThrow(/invalid padding|no matching prefix/)
    const gcm = new EncryptionTransformers(
      encryptionConfig(Buffer.alloc(16, 3)).replace('aescbc', 'aesgcm')
    ).for({ group: '', resource: 'secrets' })
    const g = gcm?.toStorage(Buffer.from('x'), 'a#b') ?? Buffer.alloc(0)
    expect(g.subarray(0, 23).toString()).toBe('k8s:enc:aesgcm:v1:key1:')
    expect(() => gcm?.fromStorage(g, 'a#c')).toThrow(/authentication failed/)
  })

  it('logs like logrus with ForceColors and backs off like lasso', () => {
    expect(
      formatColored('error', new Date('2026-11-24T09:00:00Z'), 'Error restoring CRDs x', {
        error: 'a "b"'
      })
    ).toBe(
      '\x1b[31mERRO\x1b[0m[2026/11/24 09:00:00] Error restoring CRDs x' +
        ' '.repeat(22) +
        ' ' +
        ' \x1b[31merror\x1b[0m="a \\"b\\""'
    )
    expect([0, 1, 12, 13, 29, 30, 40].map(lassoBackoffMs)).toEqual([
      5, 10, 20_480, 30_000, 30_000, 120_000, 120_000
    ])
    expect(operatorVersion('rancher/backup-restore-operator:v10.0.0')).toEqual([10, 0, 0])
    expect(
      labelSelectorString({
        matchExpressions: [{ key: 'owner', operator: 'NotIn', values: ['helm', 'a'] }],
        matchLabels: { app: 'x' }
      })
    ).toBe('app=x,owner notin (a,helm)')
  })
})

describe('simulated operator on the testbed', () => {
  let cluster: Cluster
  let s3: S3Server
  let repo: ChartRepo
  let work: string
  let env: NodeJS.ProcessEnv
  const backupFiles = new Map<string, string>()

  const exec = (bin: string, args: string[]) => run(bin, args, { env })
  const ok = async (bin: string, args: string[]): Promise<string> => {
    const r = await exec(bin, args)
    expect(r.code, `${bin} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0)
    return r.stdout
  }
  const kubectl = (...args: string[]) => ok(paths.kubectl, args)
  const helm = (...args: string[]) => ok(paths.helm3, args)
  const apply = async (manifest: object) => {
    const f = join(work, `m-${Math.random().toString(36).slice(2)}.json`)
    await writeFile(f, JSON.stringify(manifest))
    return kubectl('apply', '-f', f)
  }
  const operatorLogs = async () =>
    (await kubectl('logs', '-n', NS, '-l', SELECTOR, '--tail=-1')).replace(ANSI, '')
  const getRestore = async (name: string) =>
    JSON.parse(await kubectl('get', 'restores.resources.cattle.io', name, '-o', 'json')) as unknown
  const until = async <T>(what: string, f: () => Promise<T | undefined>, ms = 60_000) => {
    const deadline = Date.now() + ms
    for (;;) {
      const v = await f()
      if (v !== undefined && v !== false) return v
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(r => setTimeout(r, 250))
    }
  }
  /** The message of a Restore's error, once it reports one (it keeps retrying). */
  const restoreError = async (name: string) =>
    (
      await until(`Restore ${name} to report an error`, async () => {
        const s = interpretRestore(await getRestore(name))
        return s.state === 'error' ? s : undefined
      })
    ).message
  /** The status of a Restore that is retrying after `message`. */
  const expectRetrying = async (name: string, message: string) => {
    const obj = (await getRestore(name)) as { status: { conditions: unknown[] } }
    expect(obj.status.conditions).toEqual([
      expect.objectContaining({ type: 'Reconciling', status: 'False', reason: 'Error', message }),
      expect.objectContaining({ type: 'Ready', status: 'Unknown', message: 'Retrying' })
    ])
  }
  const storage = () => ({
    s3: {
      endpoint: s3.endpoint,
      endpointCA: Buffer.from(s3.ca).toString('base64'),
      bucketName: s3.bucket,
      folder: 'rancher',
      credentialSecretName: 's3-creds',
      credentialSecretNamespace: 'default'
    }
  })
  const backup = async (name: string, resourceSetName: string, encrypted = false) => {
    await apply({
      apiVersion: 'resources.cattle.io/v1',
      kind: 'Backup',
      metadata: { name },
      spec: {
        resourceSetName,
        storageLocation: storage(),
        ...(encrypted ? { encryptionConfigSecretName: 'encryptionconfig' } : {})
      }
    })
    await kubectl('wait', `backup/${name}`, '--for=condition=Ready=True', '--timeout=60s')
    const b = JSON.parse(await kubectl('get', 'backup', name, '-o', 'json')) as {
      status: { filename: string }
    }
    backupFiles.set(name, b.status.filename)
    return b
  }
  const restore = (name: string, backupName: string, extra: object = {}) =>
    apply({
      apiVersion: 'resources.cattle.io/v1',
      kind: 'Restore',
      metadata: { name },
      spec: {
        backupFilename: backupFiles.get(backupName),
        storageLocation: storage(),
        ...extra
      }
    })
  const createEncryptionSecret = async () => {
    const f = join(work, 'encryption-provider-config.yaml')
    await writeFile(f, encryptionConfig(Buffer.alloc(32, 9)))
    await kubectl('create', 'secret', 'generic', 'encryptionconfig', '-n', NS, `--from-file=${f}`)
  }
  const installBackupCharts = async (version: string, upgrade = false) => {
    for (const chart of ['rancher-backup-crd', 'rancher-backup']) {
      await helm(
        upgrade ? 'upgrade' : 'install',
        chart,
        chart,
        '--repo',
        repo.rancherChartsUrl,
        '--version',
        version,
        '-n',
        NS,
        ...(upgrade ? [] : ['--create-namespace']),
        '--wait',
        '--timeout',
        '120s'
      )
    }
  }
  const rancherChart = (verb: 'install' | 'upgrade', version: string) =>
    helm(
      verb,
      'rancher',
      'rancher',
      '--repo',
      repo.rancherLatestUrl,
      '--version',
      version,
      '-n',
      'cattle-system',
      ...(verb === 'install'
        ? ['--create-namespace', '--set', 'hostname=rancher.example.com']
        : ['--reuse-values']),
      '--wait',
      '--timeout',
      '120s'
    )

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'sim-operator-'))
    ;[cluster, repo] = await Promise.all([
      startCluster(),
      startChartRepo({ helmPath: paths.helm3 })
    ])
    s3 = await startS3({ tls: cluster.tls })
    env = {
      ...cluster.env,
      HELM_CONFIG_HOME: join(work, 'helm-config'),
      HELM_CACHE_HOME: join(work, 'helm-cache'),
      HELM_DATA_HOME: join(work, 'helm-data')
    }
    cluster.kubelet.registerBehaviour(simulatedOperator({ api: cluster.api }))
    await rancherChart('install', '2.6.3')
    await installBackupCharts(rancherBackupChartVersionFor('2.6.3'))
    await kubectl(
      'create',
      'secret',
      'generic',
      's3-creds',
      '-n',
      'default',
      `--from-literal=accessKey=${s3.accessKey}`,
      `--from-literal=secretKey=${s3.secretKey}`
    )
  })

  afterAll(async () => {
    await cluster?.stop()
    await s3?.stop()
    await repo?.stop()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('backs up the ResourceSet to S3 under the real file name, in the real layout', async () => {
    const b = await backup('b263', 'rancher-resource-set-basic')
    const ks = await cluster.api.get(kpath('v1', 'namespaces', undefined, 'kube-system'))
    expect(b.status.filename).toContain(`b263-${ks.metadata.uid}-`)
    const keys = await s3.listKeys('rancher/')
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(FILE_RE('b263'))
    const status = (JSON.parse(await kubectl('get', 'backup', 'b263', '-o', 'json')) as KubeObject)[
      'status'
    ] as Record<string, unknown>
    expect(status).toMatchObject({
      backupType: 'One-time',
      storageLocation: 'S3',
      conditions: [
        { type: 'Ready', status: 'True', message: 'Completed' },
        { type: 'Uploaded', status: 'True' }
      ]
    })
    expect(status['lastSnapshotTs']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

    const entries = await readTarGz((await s3.getObject(keys[0] as string)) ?? Buffer.alloc(0))
    const names = entries.filter(e => e.type === 'file').map(e => e.name)
    expect(names).toContain('filters/filters.json')
    expect(names).toContain(
      'customresourcedefinitions.apiextensions.k8s.io#v1/clusters.cluster.x-k8s.io.json'
    )
    expect(names).toContain('settings.management.cattle.io#v3/server-url.json')
    expect(names).toContain('configmaps.#v1/cattle-system/kube-root-ca.crt.json')
    expect(names).toContain('namespaces.#v1/cattle-system.json')
    expect(names.some(n => n.startsWith('secrets.'))).toBe(false) // basic set: no Secrets
    const crd = JSON.parse(
      entries
        .find(e => e.name.endsWith('/clusters.cluster.x-k8s.io.json'))
        ?.data?.toString('utf8') ?? '{}'
    ) as { metadata: Record<string, unknown>; spec: { versions: { name: string }[] } }
    expect(crd.metadata['uid']).toBeUndefined()
    expect(crd.metadata['resourceVersion']).toBeUndefined()
    expect(crd.spec.versions.map(v => v.name)).toEqual(['v1alpha4'])
    const filters = JSON.parse(
      entries.find(e => e.name === 'filters/filters.json')?.data?.toString('utf8') ?? '{}'
    ) as { metadata: { name: string }; controllerReferences: { name: string }[] }
    expect(filters.metadata.name).toBe('rancher-resource-set-basic')
    expect(filters.controllerReferences[0]?.name).toBe('rancher')
  })

  it('refuses a 2.6.3 backup restored over 2.6.5 (storedVersions) and keeps retrying', async () => {
    await rancherChart('upgrade', '2.6.5')
    const stored = await kubectl(
      'get',
      'crd',
      'clusters.cluster.x-k8s.io',
      '-o',
      'jsonpath={.status.storedVersions}'
    )
    expect(stored).toContain('v1beta1')

    await restore('r263', 'b263')
    const crdsRefused = 'error restoring CRDs, check logs for exact error'
    expect(await restoreError('r263')).toBe(crdsRefused)
    await expectRetrying('r263', crdsRefused)
    expect(await kubectl('get', 'restore', 'r263')).toMatch(/r263\s.*Retrying/)

    const logs = await until('three attempts in the log', async () => {
      const l = await operatorLogs()
      return (l.match(/error syncing 'r263'/g) ?? []).length >= 3 ? l : undefined
    })
    expect(logs).toContain('Processing Restore CR r263')
    expect(logs).toContain('Scaling down controllerRef apps/v1/deployments/rancher to 0')
    const refusal = logs
      .split('\n')
      .find(l => l.includes(STORED_VERSIONS_REFUSAL) && l.startsWith('ERRO['))
    expect(refusal).toContain(
      'Error restoring CRDs restoreCRDs: restoreResource: err updating resource CustomResourceDefinition.apiextensions.k8s.io "'
    )
    expect(logs).toContain(
      "error syncing 'r263': handler restore: error restoring CRDs, check logs for exact error, requeuing"
    )
    expect(logs).not.toContain('Done restoring')

    // Still an error after more attempts: never a terminal state, never Completed.
    await new Promise(r => setTimeout(r, 1500))
    expect(interpretRestore(await getRestore('r263')).state).toBe('error')
    // The Lease is taken only while an attempt runs; deleting the Restore ends the retries and
    // Rancher is back at its replica count, unless the last scale-up lost a conflict: upstream
    // updates once and only logs it.
    await kubectl('delete', 'restore', 'r263', '--wait')
    await until('rancher back at 3 replicas, or the lost scale-up logged', async () => {
      const d = JSON.parse(
        await kubectl('get', 'deploy', 'rancher', '-n', 'cattle-system', '-o', 'json')
      ) as { spec: { replicas: number } }
      if (d.spec.replicas === 3) return true
      const lost = /Error scaling up apps\/v1\/deployments\/rancher, edit it to scale back to 3/
      return d.spec.replicas === 0 && lost.test(await operatorLogs()) ? true : undefined
    })
  })

  it('encrypts Secrets; a Restore without the encryption Secret errors, then completes', async () => {
    await createEncryptionSecret()
    const b = await backup('benc', 'rancher-resource-set-full', true)
    expect(b.status.filename).toMatch(/\.tar\.gz\.enc$/)
    const key = (await s3.listKeys('rancher/')).find(k => k.includes('/benc-'))
    expect(key).toMatch(/^rancher\/benc-.*-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.tar\.gz\.enc$/)
    const entries = await readTarGz((await s3.getObject(key as string)) ?? Buffer.alloc(0))
    const secret = entries.find(
      e => e.name === `secrets.#v1/${NS}/encryptionconfig.json` && e.type === 'file'
    )
    const stored = JSON.parse(secret?.data?.toString('utf8') ?? 'null') as unknown
    expect(typeof stored).toBe('string') // Go's []byte: base64 of the ciphertext
    expect(
      Buffer.from(stored as string, 'base64')
        .subarray(0, 23)
        .toString()
    ).toBe('k8s:enc:aescbc:v1:key1:')
    const ns = entries.find(e => e.name === 'namespaces.#v1/cattle-system.json')
    expect(JSON.parse(ns?.data?.toString('utf8') ?? '{}')).toMatchObject({ kind: 'Namespace' })

    await kubectl('delete', 'secret', 'encryptionconfig', '-n', NS)
    await restore('renc', 'benc', { encryptionConfigSecretName: 'encryptionconfig' })
    expect(await restoreError('renc')).toBe('secrets "encryptionconfig" not found')
    const logs = await until('two attempts', async () => {
      const l = await operatorLogs()
      return (l.match(/error syncing 'renc'/g) ?? []).length >= 2 ? l : undefined
    })
    expect(logs).toContain(
      'Error processing encryption config: secrets "encryptionconfig" not found'
    )

    await createEncryptionSecret()
    await kubectl('wait', 'restore/renc', '--for=condition=Ready=True', '--timeout=120s')
    const done = (await getRestore('renc')) as {
      status: { conditions: unknown[]; restoreCompletionTs: string; backupSource: string }
    }
    expect(done.status.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True', message: 'Completed' })
    ])
    expect(done.status.restoreCompletionTs).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(done.status.backupSource).toBe('S3')
    expect(interpretRestore(done).state).toBe('completed')
    expect(await kubectl('get', 'restore', 'renc')).toMatch(
      /renc\s+S3\s+benc-\S+\s+\S+\s+Completed/
    )
    const after = await operatorLogs()
    expect(after).toContain('Done restoring')
    expect(after).toContain('Scaling up controllerRef apps/v1/deployments/rancher to 3')
    const lease = await cluster.api.get<KubeObject & { spec?: { holderIdentity?: string } }>(
      kpath('coordination.k8s.io/v1', 'leases', NS, LEASE_NAME)
    )
    expect(lease.spec?.holderIdentity).toBeUndefined()
    // A completed Restore is never reconciled again.
    const lines = (await operatorLogs()).split('\n').length
    await kubectl('annotate', 'restore', 'renc', 'touched=yes')
    await new Promise(r => setTimeout(r, 1000))
    expect(
      (await operatorLogs())
        .split('\n')
        .slice(lines - 1)
        .join('\n')
    ).not.toContain('Processing Restore CR renc')
  })

  it('speaks only TLS to S3: a plain-HTTP endpoint, or one it cannot verify, errors for ever', async () => {
    const { s3: location } = storage()
    const file = `rancher/${backupFiles.get('benc') ?? ''}`
    const plain = await startS3({ tls: 'plain-http' })
    try {
      // The same backup behind a plain-HTTP S3: the only reason left to fail is the protocol.
      await plain.putObject(file, (await s3.getObject(file)) ?? Buffer.alloc(0))
      await restore('rplain', 'benc', {
        encryptionConfigSecretName: 'encryptionconfig',
        storageLocation: { s3: { ...location, endpoint: plain.endpoint } }
      })
      const refusal =
        'failed to check if s3 bucket [rancher-backups] exists, error: ' +
        `Head "https://${plain.endpoint}/rancher-backups/": http: server gave HTTP response to HTTPS client`
      expect(await restoreError('rplain')).toBe(refusal)
      await expectRetrying('rplain', refusal)
      const logs = await until('two attempts', async () => {
        const l = await operatorLogs()
        return (l.match(/error syncing 'rplain'/g) ?? []).length >= 2 ? l : undefined
      })
      expect(logs).toContain(`error syncing 'rplain': handler restore: ${refusal}, requeuing`)
      expect(logs).toContain('reading s3-endpoint-ca as a base64 string')
      expect(interpretRestore(await getRestore('rplain')).state).toBe('error')
      await kubectl('delete', 'restore', 'rplain', '--wait')
    } finally {
      await plain.stop()
    }

    // TLS without the endpoint CA: the private CA is not in the system store.
    const { endpointCA: _ca, ...withoutCa } = location
    await restore('rnoca', 'benc', {
      encryptionConfigSecretName: 'encryptionconfig',
      storageLocation: { s3: withoutCa }
    })
    const untrusted = await restoreError('rnoca')
    expect(untrusted).toMatch(
      new RegExp(
        `^failed to check if s3 bucket \\[rancher-backups\\] exists, error: Head "https://${s3.endpoint}/rancher-backups/": .*certificate`
      )
    )
    expect(untrusted).not.toContain('HTTP response')
    await kubectl('delete', 'restore', 'rnoca', '--wait')

    // …unless told to skip verification (honoured without a CA from v2.1.4; this is v2.1.5).
    await restore('rinsecure', 'benc', {
      encryptionConfigSecretName: 'encryptionconfig',
      storageLocation: { s3: { ...withoutCa, insecureTLSSkipVerify: true } }
    })
    await kubectl('wait', 'restore/rinsecure', '--for=condition=Ready=True', '--timeout=120s')
    expect(interpretRestore(await getRestore('rinsecure')).state).toBe('completed')
    expect(await operatorLogs()).toMatch(
      /invoking set s3 service client .*insecure-tls-skip-verify=true/
    )
  })

  it('v10 (Rancher 2.14 line): waits for the Lease, keeps live CRD versions, skips a missing rancher', async () => {
    await installBackupCharts(rancherBackupChartVersionFor('2.14.1'), true)
    const pod = await until('the v10 operator pod logging', async () => {
      const pods = JSON.parse(
        await kubectl('get', 'pods', '-n', NS, '-l', SELECTOR, '-o', 'json')
      ) as { items: { metadata: { name: string }; spec: { containers: { image: string }[] } }[] }
      const p = pods.items.find(i => i.spec.containers[0]?.image.endsWith(':v10.0.0'))
      if (!p) return undefined
      const l = await exec(paths.kubectl, ['logs', '-n', NS, p.metadata.name])
      return l.stdout.includes('Kind=Restore controller') ? p.metadata.name : undefined
    })
    // Another holder of the Lease: the Restore waits, with nothing written to its status.
    await cluster.api.create(kpath('coordination.k8s.io/v1', 'leases', NS), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: LEASE_NAME, namespace: NS },
      spec: { holderIdentity: 'someone:1234' }
    })
    // As after rancher-cleanup: no rancher Deployment, so nothing is scaled.
    await kubectl('delete', 'deployment', 'rancher', '-n', 'cattle-system')
    await restore('r263v10', 'b263')
    await until('the lock refusal', async () => {
      const l = await exec(paths.kubectl, ['logs', '-n', NS, pod])
      return l.stdout.includes(
        "error syncing 'r263v10': handler restore: restore someone:1234 is in progress, requeuing"
      )
        ? true
        : undefined
    })
    expect(interpretRestore(await getRestore('r263v10')).state).toBe('pending')
    await cluster.api.patch(kpath('coordination.k8s.io/v1', 'leases', NS, LEASE_NAME), {
      spec: { holderIdentity: null }
    })
    await kubectl('wait', 'restore/r263v10', '--for=condition=Ready=True', '--timeout=120s')
    const crd = JSON.parse(
      await kubectl('get', 'crd', `${CAPI_CRD_PLURALS[0]}.cluster.x-k8s.io`, '-o', 'json')
    ) as { spec: { versions: { name: string; storage: boolean }[] } }
    expect(crd.spec.versions.map(v => [v.name, v.storage])).toEqual([
      ['v1alpha4', true],
      ['v1beta1', false]
    ])
    const logs = (await exec(paths.kubectl, ['logs', '-n', NS, pod])).stdout.replace(ANSI, '')
    // v10 logs the printf texts of every release (no release has "structured" ones).
    expect(logs).toMatch(/INFO\[[^\]]+\] Processing Restore CR r263v10 /)
    expect(logs).toMatch(
      /mergeVersionsFromLiveCRD: merging live versions \[v1beta1\] into backup CRD \S+\.cluster\.x-k8s\.io to satisfy storedVersions invariant/
    )
    // From v4.0.3 a missing controllerRef object is logged at Debug only, which the chart hides.
    expect(logs).toContain('Processing controllerRef apps/v1/deployments/rancher')
    expect(logs).not.toContain('for controllerRef apps/v1/deployments/rancher:')
    expect(logs).not.toContain('Scaling down controllerRef')
  })
})
