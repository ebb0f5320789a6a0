/**
 * The default ResourceSet of each rancher-backup chart line, and how to install the chart line of
 * a Rancher version (pure).
 *
 * rancher/backup-restore-operator `charts/rancher-backup/templates/`:
 * - `release/v2.0` to `release/v6.x` (tags v1.2.1 … v6.0.3; Rancher 2.5 to 2.10, charts 1.x, 2.x,
 *   102.x to 105.x) ship only `rancher-resourceset.yaml`: `rancher-resource-set`;
 * - `release/v7.x` (v7.0.0 …; Rancher 2.11, chart 106.x) adds `rancher-resourceset-basic.yaml` and
 *   `rancher-resourceset-full.yaml` (`rancher-resource-set-basic`, `-full`: basic plus the
 *   `sensitive-resourceset-contents`, i.e. Secrets) and keeps `rancher-resource-set` deprecated
 *   (v7.0.0 README: "the default *rancher-resource-set* option has been deprecated … will be
 *   removed in v8.0.0 in favor of *rancher-resource-set-basic* and *rancher-resource-set-full*");
 * - `release/v8.x` to main (v8.0.0 … v11.0.1; Rancher 2.12 to 2.15) ship only basic and full.
 * So the line's default is `rancher-resource-set` before v7 and `rancher-resource-set-basic` from v7.
 */
import { backupChartRange, toHelmVersionConstraint } from '../decide/versions.js'
import { BACKUP_CHART, BACKUP_CRD_CHART, BACKUP_NAMESPACE } from '../kube/names.js'

export const LEGACY_RESOURCE_SET = 'rancher-resource-set'
export const BASIC_RESOURCE_SET = 'rancher-resource-set-basic'

/**
 * The operator's major version from its chart version: `103.0.2+up4.0.2` → 4 (the `up` part is the
 * app version), `2.1.2` → 2, `1.2.1` → 1, `106.0.0` → 7 (chart majors from 102 are 99 + the
 * operator's, versions.ts `backupChartRange`); undefined when it does not parse.
 */
export function operatorMajor(chartVersion: string): number | undefined {
  const up = /\+up(\d+)\./.exec(chartVersion)
  if (up) return Number(up[1])
  const major = /^v?(\d+)\./.exec(chartVersion.trim())
  if (!major) return undefined
  const n = Number(major[1])
  if (n >= 102) return n - 99
  return n >= 1 && n <= 2 ? n : undefined
}

/** The default ResourceSet of the installed chart line (see above); undefined when unknown. */
export function defaultResourceSet(chartVersion: string): string | undefined {
  const major = operatorMajor(chartVersion)
  if (major === undefined) return undefined
  return major >= 7 ? BASIC_RESOURCE_SET : LEGACY_RESOURCE_SET
}

/**
 * How to install the backup operator for a Rancher version, as Rancher's migration guide does it
 * (the CRD chart first, then the operator, in cattle-resources-system), at the chart line of that
 * Rancher minor; a sentence when the version has no line.
 */
export function installHint(rancherVersion: string, repo = 'https://charts.rancher.io'): string {
  let constraint: string
  try {
    constraint = toHelmVersionConstraint(backupChartRange(rancherVersion))
  } catch (e) {
    return `${(e as Error).message}.`
  }
  const install = (chart: string) =>
    `helm upgrade --install ${chart} ${chart} --repo ${repo} -n ${BACKUP_NAMESPACE} --create-namespace --version '${constraint}' --wait`
  return `Install the rancher-backup chart line of Rancher ${rancherVersion}: \`${install(BACKUP_CRD_CHART)}\`, then \`${install(BACKUP_CHART)}\` (or from Rancher's Apps page), and run again.`
}
