/**
 * A Helm chart repository over HTTP holding a simulated Rancher world, for the end-to-end testbed.
 *
 * Chart sources live in testbed/charts/<name>/ (templates, values, files); this module writes each
 * version's Chart.yaml, packages every version (the real `helm package` when `helmPath` is given,
 * else a tar.gz built the same way), and serves:
 * (Templates with Go-template syntax are named `*.yaml.tpl`: Helm renders every file in
 * templates/ not starting with `_`, and prettier, which cannot parse them as YAML, skips them.)
 *
 *   <url>/index.yaml                          every chart
 *   <url>/server-charts/latest/index.yaml     rancher only (like releases.rancher.com/server-charts/latest)
 *   <url>/server-charts/stable/index.yaml     rancher only, without the broken version
 *   <url>/rancher-charts/index.yaml           everything but rancher (like charts.rancher.io)
 *   <url>/assets/<name>/<name>-<version>.tgz  the packages (absolute URLs in every index)
 *
 * Charts (all apiVersion v2, Kubernetes 1.20 API surface: apps/v1, apiextensions.k8s.io/v1,
 * networking.k8s.io/v1, rbac v1):
 * - `rancher` X.Y.Z (appVersion vX.Y.Z) for RANCHER_VERSIONS, plus BROKEN_RANCHER_VERSIONS whose
 *   image is `rancher/rancher:vX.Y.Z-broken` and whose pod template carries BROKEN_LABEL="true"
 *   (the fake kubelet must never make those pods Ready). See testbed/charts/rancher.
 * - `rancher-webhook`, `rancher-provisioning-capi`, `rancher-turtles`: installed by (simulated)
 *   Rancher itself.
 * - `rancher-backup-crd` (the real Backup/Restore/ResourceSet CRDs) and `rancher-backup`, one or
 *   more versions per Rancher minor (RANCHER_LINES).
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import semver from 'semver'
import { versions } from '../paths.js'

const execFileP = promisify(execFile)
const gzipP = promisify(gzip)

/** testbed/charts: the chart sources. */
export const CHART_SOURCES_DIR = fileURLToPath(new URL('../charts/', import.meta.url))

// ---------------------------------------------------------------------------------------------
// The world's versions
// ---------------------------------------------------------------------------------------------

/** Rancher chart versions that roll out normally. */
export const RANCHER_VERSIONS = [
  '2.5.16',
  '2.6.3',
  '2.6.5',
  '2.6.9',
  '2.7.5',
  '2.7.6',
  '2.7.9',
  '2.8.4',
  '2.8.5',
  '2.9.3',
  '2.12.3',
  '2.13.3',
  '2.14.1'
] as const

/** Rancher chart versions whose pods never become Ready (failed-upgrade scenarios). */
export const BROKEN_RANCHER_VERSIONS = ['2.8.6'] as const

/** Every rancher chart version in the repository, ascending. */
export const ALL_RANCHER_VERSIONS: readonly string[] = [
  ...RANCHER_VERSIONS,
  ...BROKEN_RANCHER_VERSIONS
].sort(compareVersions)

/** Pod-template label of a broken version's rancher Deployment (value "true"). */
export const BROKEN_LABEL = 'testbed.rancher-rollback/broken'

/** One Rancher minor and the charts Rancher (or the operator) installs alongside it. */
export interface RancherLine {
  /** e.g. '2.8' */
  minor: string
  /** rancher-backup and rancher-backup-crd chart versions (same list for both), ascending. */
  backup: readonly string[]
  /** rancher-webhook chart version installed by this Rancher line. */
  webhook: string
  /**
   * rancher-provisioning-capi chart version, installed by Rancher from 2.7.7 on (see
   * provisioningCapiChartVersionFor); undefined when the line never installs it.
   */
  provisioningCapi?: string
  /** rancher-turtles chart version, installed by Rancher from 2.13 on (upstream TurtlesVersion). */
  turtles?: string
}

/**
 * Chart lines per Rancher minor. The version prefixes follow the real ones (2.6 → 2.x,
 * 2.7 → 102.x+up3.x, 2.8 → 103.x+up4.x, …, 2.14 → 109.x); the exact patch numbers are the
 * testbed's own.
 */
export const RANCHER_LINES: readonly RancherLine[] = [
  { minor: '2.5', backup: ['1.2.1'], webhook: '0.1.6' },
  {
    minor: '2.6',
    // 2.1.1 is the line's last chart whose ResourceSet still backs up bootstrap-secret (2.1.2 on
    // exclude it, see the rancher-backup chart's _helpers.tpl).
    backup: ['2.1.1', '2.1.5'],
    webhook: '1.0.9+up0.2.10'
  },
  {
    minor: '2.7',
    // up3.1.3 is the line's first chart that needs Kubernetes >= 1.23 (UNFIT_BACKUP_CHART): on the
    // testbed's 1.20 the action must refuse it, and up3.1.2 is what fits.
    backup: ['102.0.2+up3.1.2', '102.0.3+up3.1.3'],
    webhook: '2.0.6+up0.3.6',
    provisioningCapi: '102.0.0+up0.0.1'
  },
  {
    minor: '2.8',
    backup: ['103.0.1+up4.0.1', '103.0.2+up4.0.2'],
    webhook: '103.0.5+up0.4.6',
    provisioningCapi: '103.0.0+up0.0.1'
  },
  {
    minor: '2.9',
    backup: ['104.0.2+up5.0.2'],
    webhook: '104.0.3+up0.5.3',
    provisioningCapi: '104.0.0+up0.3.0'
  },
  {
    minor: '2.10',
    backup: ['105.0.1+up6.0.1'],
    webhook: '105.0.2+up0.6.3',
    provisioningCapi: '105.0.0+up0.4.0'
  },
  {
    minor: '2.11',
    backup: ['106.0.1+up7.0.1'],
    webhook: '106.0.1+up0.7.1',
    provisioningCapi: '106.0.0+up0.5.0'
  },
  {
    minor: '2.12',
    backup: ['107.0.1+up8.0.1'],
    webhook: '107.0.1+up0.8.1',
    provisioningCapi: '107.0.0+up0.6.0'
  },
  {
    minor: '2.13',
    backup: ['108.0.1+up9.0.1'],
    webhook: '108.0.1+up0.9.1',
    // Still built for the opt-out (embedded-cluster-api on, turtles off); never installed here.
    provisioningCapi: '108.0.0+up0.7.0',
    turtles: '108.0.4+up0.25.4'
  },
  {
    minor: '2.14',
    backup: ['109.0.0+up10.0.0'],
    webhook: '109.0.0+up0.10.0',
    turtles: '109.0.1+up0.26.1'
  }
]

/** Accepts 'X.Y.Z' or 'vX.Y.Z' (a pre-release or build suffix is ignored). */
function parseRancherVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim())
  if (!m) throw new Error(`not a Rancher version: '${v}'`)
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

function lineFor(rancherVersion: string): RancherLine {
  const [maj, min] = parseRancherVersion(rancherVersion)
  const line = RANCHER_LINES.find(l => l.minor === `${maj}.${min}`)
  if (!line) throw new Error(`the testbed has no chart line for Rancher ${rancherVersion}`)
  return line
}

/**
 * The newest rancher-backup (= rancher-backup-crd) chart version of Rancher's minor line that
 * installs on the testbed's Kubernetes (what a user of a 1.20 cluster must pick).
 */
export function rancherBackupChartVersionFor(rancherVersion: string): string {
  const fits = lineFor(rancherVersion).backup.filter(b => fitsTestbed(backupKubeVersion(b)))
  const newest = fits[fits.length - 1]
  if (newest === undefined) throw new Error(`no rancher-backup chart for ${rancherVersion}`)
  return newest
}

/**
 * `kubeVersion` of the rancher chart, as upstream's chart/Chart.yaml at each tag of
 * rancher/rancher says it (v2.5.16 has none). Every one accepts the testbed's 1.20.
 */
const RANCHER_KUBE_VERSIONS: Readonly<Record<string, string>> = {
  '2.6.3': '< 1.23.0-0',
  '2.6.5': '< 1.24.0-0',
  '2.6.9': '< 1.25.0-0',
  '2.7.5': '< 1.27.0-0',
  '2.7.6': '< 1.27.0-0',
  '2.7.9': '< 1.27.0-0',
  '2.8.4': '< 1.29.0-0',
  '2.8.5': '< 1.29.0-0',
  '2.8.6': '< 1.29.0-0',
  '2.9.3': '< 1.31.0-0',
  '2.12.3': '< 1.34.0-0',
  '2.13.3': '< 1.35.0-0',
  '2.14.1': '< 1.36.0-0'
}

/**
 * `kubeVersion` of the rancher-backup chart by operator version, as
 * rancher/backup-restore-operator's charts/rancher-backup/Chart.yaml says at each tag (v1.x: none;
 * v2.x-v3.1.2 `>= 1.16.0-0`; v3.1.3-v5 `>= 1.23.0-0`; v6 `>= 1.28.0-0`; v7 `>= 1.30.0-0`; v8
 * `>= 1.31.0-0`; v9 `>= 1.32.0-0`; v10 `>= 1.33.0-0`). The rancher-backup-crd chart has none.
 */
function upstreamBackupKubeVersion(operatorVersion: string): string {
  const [maj = 0, min = 0, patch = 0] = operatorVersion.split('.').map(Number)
  if (maj < 2) return ''
  if (maj < 3 || (maj === 3 && (min < 1 || (min === 1 && patch < 3)))) return '>= 1.16.0-0'
  if (maj < 6) return '>= 1.23.0-0'
  return `>= 1.${[28, 30, 31, 32, 33][Math.min(maj - 6, 4)]}.0-0`
}

/** The one testbed chart that keeps a real range excluding 1.20: it proves the action's refusal. */
export const UNFIT_BACKUP_CHART = '102.0.3+up3.1.3'

/**
 * Where the real range excludes the testbed's 1.20 (every line from 2.8 on), the testbed's chart
 * carries none, or no world could install its operator.
 */
export function backupKubeVersion(chartVersion: string): string {
  const real = upstreamBackupKubeVersion(upstream(chartVersion))
  return fitsTestbed(real) || chartVersion === UNFIT_BACKUP_CHART ? real : ''
}

/** The testbed runs Kubernetes 1.20: does a chart's kubeVersion accept it? */
function fitsTestbed(kubeVersion: string): boolean {
  const range = kubeVersion.replace(/,/g, ' ')
  return (
    kubeVersion === '' || semver.satisfies(versions.kubernetes, range, { includePrerelease: true })
  )
}

/** The rancher-webhook chart version a Rancher version installs. */
export function rancherWebhookChartVersionFor(rancherVersion: string): string {
  return lineFor(rancherVersion).webhook
}

/** The rancher-provisioning-capi chart version a Rancher version installs (from 2.7.7 on). */
export function provisioningCapiChartVersionFor(rancherVersion: string): string | undefined {
  if (compareVersions(rancherVersion.replace(/^v/, ''), '2.7.7') < 0) return undefined
  return lineFor(rancherVersion).provisioningCapi
}

/** The rancher-turtles chart version a Rancher version installs (from 2.13 on). */
export function turtlesChartVersionFor(rancherVersion: string): string | undefined {
  return lineFor(rancherVersion).turtles
}

/** The rancher image a rancher chart version deploys. */
export function rancherImageFor(rancherVersion: string): string {
  const v = rancherVersion.replace(/^v/, '')
  const broken = (BROKEN_RANCHER_VERSIONS as readonly string[]).includes(v)
  return `rancher/rancher:v${v}${broken ? '-broken' : ''}`
}

/** The cluster.x-k8s.io CRDs the rancher chart installs (`<plural>.cluster.x-k8s.io`). */
export const CAPI_CRD_PLURALS = [
  'clusters',
  'machines',
  'machinesets',
  'machinedeployments',
  'machinehealthchecks'
] as const

export interface CapiCrdVersions {
  /** The storage version. */
  storage: string
  /** Served versions, oldest first (storage included). */
  served: string[]
}

/**
 * API versions of the cluster.x-k8s.io CRDs (clusters, machines, machinesets,
 * machinedeployments, machinehealthchecks) the rancher chart installs, or undefined (2.5: no
 * cluster-api). Storage: v1alpha4 below 2.6.4, v1beta1 from 2.6.4, v1beta2 from 2.14. The older
 * version stays served next to the storage one (v1alpha4 until 2.13, v1beta1 from 2.14), as the
 * upstream CRDs did during their deprecation periods.
 */
export function capiCrdVersionsFor(rancherVersion: string): CapiCrdVersions | undefined {
  const v = rancherVersion.replace(/^v/, '')
  if (compareVersions(v, '2.6.0') < 0) return undefined
  if (compareVersions(v, '2.6.4') < 0) return { storage: 'v1alpha4', served: ['v1alpha4'] }
  if (compareVersions(v, '2.14.0') < 0) {
    return { storage: 'v1beta1', served: ['v1alpha4', 'v1beta1'] }
  }
  return { storage: 'v1beta2', served: ['v1beta1', 'v1beta2'] }
}

/** The cluster.x-k8s.io version a rancher-backup chart line backs up objects at. */
function backupCapiApiVersion(backupVersion: string): string {
  const major = Number(backupVersion.split('.')[0])
  if (major < 2) return ''
  if (major < 109) return 'v1beta1'
  return 'v1beta2'
}

/** Compares X.Y.Z[+build] versions; a `+upA.B.C` build part breaks ties. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] => {
    const [main = '', build = ''] = v.replace(/^v/, '').split('+')
    const nums = main.split(/[.-]/).slice(0, 3).map(Number)
    const up = build.replace(/^up/, '').split('.').map(Number)
    return [...nums, ...up].map(n => (Number.isFinite(n) ? n : 0))
  }
  const x = parts(a)
  const y = parts(b)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

// ---------------------------------------------------------------------------------------------
// Chart metadata
// ---------------------------------------------------------------------------------------------

export interface ChartSpec {
  name: string
  version: string
  appVersion: string
  /** The Kubernetes versions `helm install` accepts ('' = any). */
  kubeVersion: string
  description: string
  /** Chart.yaml annotations (string values). */
  annotations: Record<string, string>
  /** Which index files list it. */
  repos: Array<'server-latest' | 'server-stable' | 'rancher-charts'>
}

function upstream(version: string): string {
  const i = version.indexOf('+up')
  return i < 0 ? version : version.slice(i + 3)
}

function rancherVersionRange(minor: string): string {
  const [maj, min] = minor.split('.').map(Number)
  return `>= ${minor}.0-0 < ${maj}.${(min ?? 0) + 1}.0-0`
}

/** Every chart version the repository serves. */
export function chartSpecs(): ChartSpec[] {
  const specs: ChartSpec[] = []
  for (const v of ALL_RANCHER_VERSIONS) {
    const broken = (BROKEN_RANCHER_VERSIONS as readonly string[]).includes(v)
    const capi = capiCrdVersionsFor(v)
    const annotations: Record<string, string> = {
      'testbed.rancher-rollback/generated': 'true',
      'testbed.rancher-rollback/capi-storage-version': capi?.storage ?? '',
      'testbed.rancher-rollback/capi-served-versions': capi?.served.join(',') ?? ''
    }
    if (broken) annotations['testbed.rancher-rollback/broken'] = 'true'
    specs.push({
      name: 'rancher',
      version: v,
      appVersion: `v${v}`,
      kubeVersion: RANCHER_KUBE_VERSIONS[v] ?? '',
      description: 'Install Rancher Server to manage Kubernetes clusters across providers.',
      annotations,
      repos: broken ? ['server-latest'] : ['server-latest', 'server-stable']
    })
  }
  for (const line of RANCHER_LINES) {
    const range = rancherVersionRange(line.minor)
    const common = (namespace: string, release: string, hidden: boolean) => ({
      'catalog.cattle.io/certified': 'rancher',
      'catalog.cattle.io/namespace': namespace,
      'catalog.cattle.io/release-name': release,
      'catalog.cattle.io/rancher-version': range,
      'catalog.cattle.io/kube-version': '>= 1.16.0-0',
      ...(hidden ? { 'catalog.cattle.io/hidden': 'true' } : {})
    })
    for (const b of line.backup) {
      specs.push({
        name: 'rancher-backup-crd',
        version: b,
        appVersion: upstream(b),
        kubeVersion: '',
        description: 'Installs the CRDs for rancher-backup.',
        annotations: common('cattle-resources-system', 'rancher-backup-crd', true),
        repos: ['rancher-charts']
      })
      specs.push({
        name: 'rancher-backup',
        version: b,
        appVersion: upstream(b),
        kubeVersion: backupKubeVersion(b),
        description: 'Provides ability to back up and restore the Rancher application.',
        annotations: {
          ...common('cattle-resources-system', 'rancher-backup', false),
          'catalog.cattle.io/auto-install': `rancher-backup-crd=match`,
          'catalog.cattle.io/display-name': 'Rancher Backups',
          'testbed.rancher-rollback/capi-api-version': backupCapiApiVersion(b)
        },
        repos: ['rancher-charts']
      })
    }
    specs.push({
      name: 'rancher-webhook',
      version: line.webhook,
      appVersion: upstream(line.webhook),
      kubeVersion: '',
      description: 'Rancher webhook',
      annotations: common('cattle-system', 'rancher-webhook', true),
      repos: ['rancher-charts']
    })
    if (line.provisioningCapi) {
      specs.push({
        name: 'rancher-provisioning-capi',
        version: line.provisioningCapi,
        appVersion: upstream(line.provisioningCapi),
        kubeVersion: '',
        description: 'Rancher provisioning cluster-api controllers',
        annotations: common('cattle-provisioning-capi-system', 'rancher-provisioning-capi', true),
        repos: ['rancher-charts']
      })
    }
    if (line.turtles) {
      specs.push({
        name: 'rancher-turtles',
        version: line.turtles,
        appVersion: upstream(line.turtles),
        kubeVersion: '',
        description: 'Rancher Turtles: Cluster API integration in Rancher',
        annotations: common('cattle-turtles-system', 'rancher-turtles', true),
        repos: ['rancher-charts']
      })
    }
  }
  return specs
}

const q = (s: string): string => JSON.stringify(s)

function chartYaml(s: ChartSpec): string {
  const lines = [
    'apiVersion: v2',
    `name: ${s.name}`,
    `version: ${q(s.version)}`,
    `appVersion: ${q(s.appVersion)}`,
    ...(s.kubeVersion === '' ? [] : [`kubeVersion: ${q(s.kubeVersion)}`]),
    `description: ${q(s.description)}`,
    'type: application',
    'home: https://www.rancher.com/',
    'sources:',
    '  - https://github.com/rancher/rancher',
    'annotations:',
    ...Object.entries(s.annotations).map(([k, v]) => `  ${k}: ${q(v)}`)
  ]
  return lines.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// Packaging
// ---------------------------------------------------------------------------------------------

export interface PackagedChart extends ChartSpec {
  /** Package file name, `<name>-<version>.tgz`. */
  file: string
  /** Path on disk. */
  path: string
  /** SHA-256 hex of the package. */
  digest: string
  /** ISO time written as `created` in the index. */
  created: string
}

async function packageChart(
  spec: ChartSpec,
  buildRoot: string,
  outDir: string,
  helmPath: string | undefined
): Promise<string> {
  const work = join(buildRoot, `${spec.name}-${spec.version}`)
  const chartDir = join(work, spec.name)
  await cp(join(CHART_SOURCES_DIR, spec.name), chartDir, { recursive: true })
  await writeFile(join(chartDir, 'Chart.yaml'), chartYaml(spec))
  const file = join(outDir, `${spec.name}-${spec.version}.tgz`)
  if (helmPath) {
    await execFileP(helmPath, ['package', chartDir, '--destination', outDir], {
      env: { ...process.env, HELM_CONFIG_HOME: join(work, '.helm') }
    })
  } else {
    const tarFile = join(work, 'chart.tar')
    await execFileP('tar', [
      '-cf',
      tarFile,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '--sort=name',
      '-C',
      work,
      spec.name
    ])
    await writeFile(file, await gzipP(await readFile(tarFile)))
  }
  await rm(work, { recursive: true, force: true })
  return file
}

/** Packages every chart into `outDir` (created); returns them with their digests. */
export async function packageCharts(
  outDir: string,
  opts: { helmPath?: string } = {}
): Promise<PackagedChart[]> {
  await mkdir(outDir, { recursive: true })
  const buildRoot = await mkdtemp(join(tmpdir(), 'testbed-chart-build-'))
  const specs = chartSpecs()
  const base = Date.UTC(2021, 0, 4)
  try {
    const out: PackagedChart[] = []
    // A few at a time: helm package is CPU-bound.
    for (let i = 0; i < specs.length; i += 4) {
      const batch = specs.slice(i, i + 4)
      const files = await Promise.all(
        batch.map(s => packageChart(s, buildRoot, outDir, opts.helmPath))
      )
      for (const [j, s] of batch.entries()) {
        const path = files[j] ?? ''
        out.push({
          ...s,
          file: `${s.name}-${s.version}.tgz`,
          path,
          digest: createHash('sha256')
            .update(await readFile(path))
            .digest('hex'),
          created: new Date(base + (i + j) * 86_400_000).toISOString()
        })
      }
    }
    return out
  } finally {
    await rm(buildRoot, { recursive: true, force: true })
  }
}

/** A Helm repository index (apiVersion v1; entries newest first). */
export function indexYaml(charts: PackagedChart[], assetsUrl: string, generated: string): string {
  const byName = new Map<string, PackagedChart[]>()
  for (const c of charts) byName.set(c.name, [...(byName.get(c.name) ?? []), c])
  const out = ['apiVersion: v1', 'entries:']
  for (const name of [...byName.keys()].sort()) {
    out.push(`  ${name}:`)
    const versions = (byName.get(name) ?? []).sort((a, b) => compareVersions(b.version, a.version))
    for (const c of versions) {
      out.push(
        `  - apiVersion: v2`,
        `    name: ${c.name}`,
        `    version: ${q(c.version)}`,
        `    appVersion: ${q(c.appVersion)}`,
        ...(c.kubeVersion === '' ? [] : [`    kubeVersion: ${q(c.kubeVersion)}`]),
        `    description: ${q(c.description)}`,
        `    type: application`,
        `    home: https://www.rancher.com/`,
        `    created: ${q(c.created)}`,
        `    digest: ${c.digest}`,
        `    urls:`,
        `    - ${q(`${assetsUrl}/${c.name}/${c.file}`)}`,
        `    annotations:`,
        ...Object.entries(c.annotations).map(([k, v]) => `      ${k}: ${q(v)}`)
      )
    }
  }
  out.push(`generated: ${q(generated)}`)
  return out.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

export interface ChartRepoOptions {
  /** Package with this real helm binary (`helm package`); default: tar + gzip. */
  helmPath?: string
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number
}

export interface ChartRepo {
  /** `http://127.0.0.1:<port>`: index.yaml with every chart. */
  url: string
  /** Like releases.rancher.com/server-charts/latest: rancher only. */
  rancherLatestUrl: string
  /** Like …/server-charts/stable: rancher only, broken versions left out. */
  rancherStableUrl: string
  /** Like charts.rancher.io: webhook, provisioning-capi, turtles, backup-crd, backup. */
  rancherChartsUrl: string
  charts: PackagedChart[]
  /** URL paths requested, in order. */
  requests: string[]
  stop(): Promise<void>
}

/** Packages the charts and serves them on 127.0.0.1. */
export async function startChartRepo(opts: ChartRepoOptions = {}): Promise<ChartRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'testbed-chart-repo-'))
  let charts: PackagedChart[]
  try {
    charts = await packageCharts(dir, opts.helmPath ? { helmPath: opts.helmPath } : {})
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
  const byAsset = new Map(charts.map(c => [`/assets/${c.name}/${c.file}`, c]))
  const indexes = new Map<string, string>()
  const requests: string[] = []

  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://repo').pathname)
    requests.push(path)
    const head = req.method === 'HEAD'
    const send = (status: number, type: string, body: Buffer): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': String(body.length) })
      res.end(head ? undefined : body)
    }
    if (req.method !== 'GET' && !head) {
      send(405, 'text/plain', Buffer.from('Method Not Allowed\n'))
      return
    }
    const index = indexes.get(path)
    if (index !== undefined) {
      send(200, 'application/x-yaml', Buffer.from(index))
      return
    }
    const chart = byAsset.get(path)
    if (chart) {
      readFile(chart.path).then(
        body => send(200, 'application/gzip', body),
        () => send(500, 'text/plain', Buffer.from('read error\n'))
      )
      return
    }
    send(404, 'text/plain', Buffer.from('Not Found\n'))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const generated = new Date().toISOString()
  const assets = `${url}/assets`
  const pick = (repo: ChartSpec['repos'][number]): PackagedChart[] =>
    charts.filter(c => c.repos.includes(repo))
  indexes.set('/index.yaml', indexYaml(charts, assets, generated))
  indexes.set(
    '/server-charts/latest/index.yaml',
    indexYaml(pick('server-latest'), assets, generated)
  )
  indexes.set(
    '/server-charts/stable/index.yaml',
    indexYaml(pick('server-stable'), assets, generated)
  )
  indexes.set('/rancher-charts/index.yaml', indexYaml(pick('rancher-charts'), assets, generated))

  let stopped = false
  return {
    url,
    rancherLatestUrl: `${url}/server-charts/latest`,
    rancherStableUrl: `${url}/server-charts/stable`,
    rancherChartsUrl: `${url}/rancher-charts`,
    charts,
    requests,
    async stop() {
      if (stopped) return
      stopped = true
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    }
  }
}
