/**
 * The one version vocabulary (pure): Rancher, chart and tool versions are handled without a
 * leading `v`, and this is the only place that drops it.
 */
import semver from 'semver'
import type { HelmRevision } from '../facts/cluster-facts.js'

/** `v2.8.4` → `2.8.4`; trims whitespace; anything else is returned unchanged (not validated). */
export function normalizeVersion(version: string): string {
  const trimmed = version.trim()
  return /^[vV]\d/.test(trimmed) ? trimmed.slice(1) : trimmed
}

/**
 * A strict semver version, with or without a leading `v`, as given (build metadata kept:
 * `103.0.2+up4.0.2`); undefined for anything else.
 */
export function exactVersion(value: string): string | undefined {
  const bare = normalizeVersion(value)
  return /^\d/.test(bare) && semver.valid(bare) !== null ? bare : undefined
}

/** Strict semver parse after normalisation; `undefined` for '' or anything that is not semver. */
export function parseVersion(version: string): semver.SemVer | undefined {
  const normalized = normalizeVersion(version)
  if (normalized === '') return undefined
  return semver.parse(normalized) ?? undefined
}

/**
 * The release a version belongs to: `2.6.4-rc1` → `2.6.4` (pre-release and build dropped).
 * Used for the current version C, where a pre-release must count as its release.
 * Throws on a non-version.
 */
export function releaseOf(version: string): string {
  const parsed = parseVersion(version)
  if (parsed === undefined) throw new Error(`not a version: '${version}'`)
  return `${parsed.major}.${parsed.minor}.${parsed.patch}`
}

/**
 * The Rancher version of one Helm revision: its app version, else the version in its chart name
 * (`rancher-2.8.5`, the chart version equals the Rancher version); undefined when neither parses.
 */
export function revisionVersion(revision: HelmRevision): string | undefined {
  const app = parseVersion(revision.appVersion)
  if (app !== undefined) return app.version
  const match = /^.*?-(v?\d+\.\d+\.\d+\S*)$/.exec(revision.chart.trim())
  if (match?.[1] === undefined) return undefined
  return parseVersion(match[1])?.version
}

/** "Already at T": the revision is deployed and runs `version`. */
export function isDeployedAt(revision: HelmRevision | undefined, version: string): boolean {
  if (revision?.status !== 'deployed') return false
  const running = revisionVersion(revision)
  return running !== undefined && semver.eq(running, version)
}

/** `2.9.0-rc1` is a pre-release: Helm finds its chart only with --devel. */
export function isPrerelease(version: string): boolean {
  return (parseVersion(version)?.prerelease.length ?? 0) > 0
}

/**
 * Whether a chart's `kubeVersion` constraint (Masterminds semver, as Helm reads it: a comma or a
 * space means AND, `||` means OR) accepts the cluster's version (`v1.28.5`, `v1.27.3+k3s1`,
 * `v1.28.5-eks-5e0fdde`). Constraints end their bounds in `-0` so that such pre-release-looking
 * versions match, as Helm does; build metadata is ignored. `unknown` when either cannot be read.
 */
export function kubeVersionAccepts(
  constraint: string,
  kubernetesVersion: string
): 'yes' | 'no' | 'unknown' {
  const version = semver.parse(normalizeVersion(kubernetesVersion), { loose: true })
  const range = semver.validRange(constraint.replace(/,/g, ' '), { includePrerelease: true })
  if (version === null || range === null) return 'unknown'
  return semver.satisfies(version, range, { includePrerelease: true }) ? 'yes' : 'no'
}

/**
 * Rancher 2.7.14 and 2.8.5 (RKE 1.4.19 / 1.5.10) ship the fix of GHSA-6gr4-52w6-vmqx, which
 * migrates downstream RKE1 cluster state; every later minor has it.
 */
export function hasRkeStateFix(version: string): boolean {
  if (parseVersion(version) === undefined) return false
  const v = releaseOf(version)
  return semver.gte(v, '2.8.5') || (semver.gte(v, '2.7.14') && semver.lt(v, '2.8.0'))
}

/** True when `version` (a pre-release counts as its release) is below `bound`. */
export function releaseBelow(version: string, bound: string): boolean {
  const parsed = parseVersion(version)
  return parsed !== undefined && semver.lt(releaseOf(version), bound)
}

/** Major and minor of a Rancher version (`v2.8.4`, `2.8.0-rc1`, `2.8`); undefined when not one. */
function majorMinor(version: string): { major: number; minor: number } | undefined {
  const match = /^(\d+)\.(\d+)(?:[.\-+]|$)/.exec(normalizeVersion(version))
  if (match === null) return undefined
  return { major: Number(match[1]), minor: Number(match[2]) }
}

/**
 * The semver range (node-semver syntax) of the `rancher-backup` / `rancher-backup-crd` chart
 * line for a Rancher minor: 2.5 → 1.x, 2.6 → 2.x, and from 2.7 on the chart major is
 * 95 + minor (2.7 → 102.x, 2.8 → 103.x, 2.9 → 104.x, … 2.14 → 109.x).
 * Throws for versions that have no rancher-backup chart (before 2.5, or not Rancher 2.x).
 */
export function backupChartRange(rancherVersion: string): string {
  const mm = majorMinor(rancherVersion)
  if (mm === undefined) throw new Error(`not a Rancher version: '${rancherVersion}'`)
  if (mm.major !== 2 || mm.minor < 5) {
    throw new Error(
      `Rancher ${normalizeVersion(rancherVersion)} has no rancher-backup chart line (the chart exists for Rancher 2.5 and later)`
    )
  }
  const chartMajor = mm.minor === 5 ? 1 : mm.minor === 6 ? 2 : 95 + mm.minor
  return `>=${chartMajor}.0.0 <${chartMajor + 1}.0.0`
}

/**
 * The same range in the syntax `helm install --version` takes (Masterminds semver: a comma
 * means AND): `>=103.0.0 <104.0.0` → `>=103.0.0, <104.0.0`.
 */
export function toHelmVersionConstraint(range: string): string {
  return range.trim().split(/\s+/).join(', ')
}
