/**
 * Judges the log of rancher-cleanup's verify.sh (deploy/verify.yaml). verify.sh only lists what is
 * left and always exits 0, so its output is the verdict: every line must be on this allow-list of
 * harmless lines, anything else is a leftover.
 *
 * What verify.sh prints (rancher/rancher-cleanup, verify.sh):
 * - `Running verify.sh version <v>` first;
 * - `kubectl get --ignore-not-found …` tables and `kind/name` lines for leftovers (nothing when clean);
 * - PodSecurityPolicy checks: on Kubernetes >= 1.25 each prints
 *   `error: the server doesn't have a resource type "podsecuritypolicy"` (rancher/rancher#43043,
 *   rancher-cleanup#87); on 1.21-1.24 kubectl warns that PSP is deprecated; newer releases guard
 *   the checks instead (rancher-cleanup#79);
 * - two comma-separated lists (no trailing newline, so they can run together) of the remaining
 *   namespaced and cluster-scoped `cattle.io` resource types; the cluster-scoped one does not
 *   exclude `k3s.cattle.io` / `helm.cattle.io`, which K3s and RKE2 own (e.g.
 *   `etcdsnapshotfiles.k3s.cattle.io` on a clean K3s cluster).
 */

export interface VerifyJudgement {
  clean: boolean
  /** Offending lines (or resource types, for the comma-separated lists), in order. */
  leftovers: string[]
}

/** Lines that never indicate a leftover. */
const HARMLESS: RegExp[] = [
  // Banner.
  /^Running verify\.sh version \S*$/,
  // kubectl deprecation warnings (README: "output should be empty (besides deprecation warnings)").
  /^Warning: .+ is deprecated in v\d+\.\d+\+/,
  // PSP checks on Kubernetes >= 1.25 (the PodSecurityPolicy API is gone).
  /^error: the server doesn't have a resource type "podsecuritypolic(?:y|ies)(?:\.policy)?"$/,
  // A guarded PSP check saying it skips (wording is not fixed across releases).
  /^(?:skipping|checking)\b.*\b(?:psps?|pod ?security ?polic(?:y|ies))\b/i,
  /\b(?:psps?|pod ?security ?polic(?:y|ies))\b.*\b(?:not (?:available|supported|present|found)|removed|skipp(?:ing|ed))\b/i,
  // kubectl without --ignore-not-found on an empty list.
  /^No resources found(?: in \S+ namespace)?\.?$/
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

/**
 * An echoed section header (`==> …`, `Remaining resources:`): harmless when its section is empty,
 * and when it is not, the section's lines are the leftovers. Never an error or warning line.
 */
const SECTION_HEADER =
  /^(?!(?:[Ee]rror|ERROR|[Ww]arning|WARNING|E\d{4})\b)(?:(?:={2,}|-{2,}|#+)>?\s*\S.*|[A-Z][\w .,'()-]{0,100}:)$/

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
    if (TABLE_HEADER.test(line) || SECTION_HEADER.test(line)) continue
    if (TYPE_LIST.test(line) && line.includes('.')) {
      leftovers.push(...listItems(line).filter(item => !DISTRO_TYPE.test(item)))
      continue
    }
    leftovers.push(line)
  }
  return { clean: leftovers.length === 0, leftovers }
}
