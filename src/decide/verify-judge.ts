/**
 * Judges the log of rancher-cleanup's verify.sh (deploy/verify.yaml). verify.sh only lists what is
 * left and always exits 0, so its output is the verdict: every line must be on this allow-list of
 * harmless lines, anything else is a leftover.
 *
 * What a clean cluster gets from verify.sh (rancher/rancher-cleanup v1.0.3, the default image):
 * - `Running verify.sh version <v>` (l.4);
 * - one side of its PSP guard (l.57-80), which tests the wrong way round: where PodSecurityPolicy
 *   is served (Kubernetes 1.24 and older) `Kubernetes version v1.25 or higher, skipping PSP
 *   check`; where it is not (1.25+) `Checking for PSPs` and 13 ×
 *   `error: the server doesn't have a resource type "podsecuritypolicy"` (rancher-cleanup#87);
 *   v1.0.0-v1.0.2 have no guard: the 13 errors on 1.25+, PSP deprecation warnings on 1.21-1.24;
 * - deprecation warnings of listed types (rancher-cleanup#87 filters them with `grep -v "is
 *   deprecated"`);
 * - the comma-separated lists of remaining `cattle.io` types (l.111-112, no trailing newline, so
 *   they run together); the cluster-scoped one does not exclude `k3s.cattle.io` /
 *   `helm.cattle.io`, which K3s and RKE2 own (`etcdsnapshotfiles.k3s.cattle.io`,
 *   rancher-cleanup#87).
 * Leftovers are kubectl tables, `kind.group/name` lines and custom-columns rows. Its namespace
 * checks (l.82-88) never match `cattle-*`, `c-*`, `p-*`, `user-*`, `u-*`: the caller checks those.
 */

export interface VerifyJudgement {
  clean: boolean
  /** Offending lines (or resource types, for the comma-separated lists), in order. */
  leftovers: string[]
}

/** Lines that never indicate a leftover. */
const HARMLESS: RegExp[] = [
  /^Running verify\.sh version \S+$/,
  /^Checking for PSPs$/,
  /^Kubernetes version v1\.25 or higher, skipping PSP check$/,
  // kubectl names the type before the first dot, so `podsecuritypolicy.policy/…` says this too.
  /^error: the server doesn't have a resource type "podsecuritypolicy"$/,
  /^Warning: .+ is deprecated in v\d+\.\d+\+/
]

/** K3s/RKE2 API groups that rancher-cleanup deliberately leaves alone. */
const DISTRO_TYPE = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:k3s|helm)\.cattle\.io$/

/** API groups verify.sh looks for: discovery failing for one of them hides leftovers. */
const RELEVANT_GROUP =
  /cattle\.io|cluster\.x-k8s\.io|monitoring\.coreos\.com|gatekeeper\.sh|logging\.banzaicloud\.io|istio\.io|elemental/

/**
 * An unavailable aggregated API of another group (typically metrics.k8s.io) makes kubectl's
 * discovery print errors; it says nothing about Rancher leftovers.
 */
function isUnrelatedDiscoveryError(line: string): boolean {
  const m =
    /^E\d{4} [\d:.]+\s+\d+ \S+\.go:\d+\] couldn't get resource list for ([^:\s]+): /.exec(line) ??
    /^error: unable to retrieve the complete list of server APIs: ([^:\s]+): /.exec(line)
  return m !== null && m[1] !== undefined && !RELEVANT_GROUP.test(m[1])
}

/** A kubectl table header (`NAME  READY  UP-TO-DATE …`): harmless by itself; its rows are not. */
const TABLE_HEADER = /^(?:NAMESPACE\s+)?NAME(?:\s+[A-Z][A-Z0-9()%/_.-]*)*$/

/** `a.x.cattle.io,b.y.cattle.io`: one of verify.sh's comma-separated type lists. */
const TYPE_LIST = /^[a-z0-9.-]+(?:,[a-z0-9.-]+)*$/

/** Items of a type list, with run-together lists split apart at each `cattle.io` boundary. */
function listItems(line: string): string[] {
  return line
    .split(',')
    .flatMap(item => item.split(/(?<=\.cattle\.io)(?=[a-z0-9])/))
    .filter(item => item !== '')
}

export function judgeVerifyOutput(log: string): VerifyJudgement {
  const leftovers: string[] = []
  for (const raw of log.split('\n')) {
    // `kubectl logs --prefix` adds `[pod/<name>/<container>] `.
    const line = raw
      .replace(/\r$/, '')
      .replace(/^\[pod\/[^\]]+\]\s?/, '')
      .trim()
    if (line === '') continue
    if (HARMLESS.some(re => re.test(line))) continue
    if (isUnrelatedDiscoveryError(line)) continue
    if (TABLE_HEADER.test(line)) continue
    if (TYPE_LIST.test(line) && line.includes('.')) {
      leftovers.push(...listItems(line).filter(item => !DISTRO_TYPE.test(item)))
      continue
    }
    leftovers.push(line)
  }
  return { clean: leftovers.length === 0, leftovers }
}
