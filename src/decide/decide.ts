/**
 * Which documented procedure applies (the decision table in the README), as a pure function of the
 * target input and cluster facts. Preconditions of the chosen procedure live in preflight.ts.
 */
import semver from 'semver'
import type {
  CapiFacts,
  HelmRevision,
  InterruptedRollback,
  RestoreFacts
} from '../facts/cluster-facts.js'
import type { TargetVersion } from '../inputs/settings.js'
import { CAPI_NAMESPACE, CAPI_RELEASE, restoreLabels, SAVED } from '../kube/names.js'
import { normalizeVersion, parseVersion, releaseOf, revisionVersion } from './versions.js'

export type Procedure = 'in-place' | 'cleanup-and-reinstall' | 'restore-only'

export interface ProceedDecision {
  kind: 'proceed'
  procedure: Procedure
  /** Current version C, no leading `v`. */
  from: string
  /** Target version T, no leading `v`. */
  to: string
  /** The table row (or evidence rule) that chose the procedure, in words. */
  rule: string
  /** The facts behind the rule, one sentence each. */
  reasons: string[]
  /** in-place: newest revision whose app version is T (helm rollback target). */
  rollbackRevision: number | undefined
  /**
   * cleanup-and-reinstall: an earlier run of this move already reinstalled T (deployed, its
   * Restore completed) and was stopped before it finished: what is left is to verify it and
   * delete the saved state, not to run rancher-cleanup again over a working Rancher.
   */
  reinstalled?: true
}

export interface RefuseDecision {
  kind: 'refuse'
  /** '' when unknown (e.g. no release). */
  from: string
  to: string
  rule: string
  reason: string
  /** What the operator should do instead, concrete enough to act on. */
  instead: string
}

export type Decision = ProceedDecision | RefuseDecision

export interface DecisionInput {
  target: TargetVersion
  releaseExists: boolean
  history: HelmRevision[]
  capi: CapiFacts
  /** An earlier run's cleanup-and-reinstall that deleted Rancher and did not finish. */
  interrupted?: InterruptedRollback
  /** Restores in the cluster (this action's carry restoreLabels(from, to)). */
  restores?: readonly Pick<RestoreFacts, 'name' | 'labels' | 'completed' | 'backupFilename'>[]
  /** The backup this run restores ('' when not known yet). */
  backupFilename?: string
}

// ---------------------------------------------------------------------------------------------
// Implementation

const ROLLBACKS_DOC =
  'https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/install-upgrade-on-a-kubernetes-cluster/rollbacks'
const UPGRADES_DOC =
  'https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/install-upgrade-on-a-kubernetes-cluster/upgrades'
const DOCKER_ROLLBACK_DOC =
  'https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/other-installation-methods/rancher-on-a-single-node-with-docker/roll-back-docker-installed-rancher'
const ETCD_RESTORE_DOC =
  'https://github.com/rancher/rancher-docs/tree/main/archived_docs/en/version-2.0-2.4/how-to-guides/new-user-guides/backup-restore-and-disaster-recovery/restore-rancher-launched-kubernetes-clusters-from-backup.md'
const V20_V21_DOC =
  'https://github.com/rancher/rancher-docs/tree/main/archived_docs/en/version-2.0-2.4/how-to-guides/new-user-guides/backup-restore-and-disaster-recovery/restore-rancher-launched-kubernetes-clusters-from-backup/roll-back-to-v2.0-v2.1.md'

/** Helm statuses of a revision that was, at some point, successfully deployed. */
const RAN_STATUSES = new Set(['deployed', 'superseded'])

/** The boundaries that need cleanup-and-reinstall when crossed downwards (table order). */
const BOUNDARIES: readonly { at: string; why: string }[] = [
  {
    at: '2.6.4',
    why: 'v2.6.4 moved the cluster-api CRDs from cluster.x-k8s.io/v1alpha4 to v1beta1, which v2.6.3 and earlier cannot restore over'
  },
  {
    at: '2.7.7',
    why: 'v2.7.7 installs rancher-provisioning-capi, which conflicts with v2.7.6 and earlier'
  },
  {
    at: '2.14.0',
    why: 'the Rollbacks page (v2.14 docs) requires the cleanup path from v2.14.0+ to v2.13.x and earlier'
  }
]

function byRevision(history: readonly HelmRevision[]): HelmRevision[] {
  return [...history].sort((a, b) => a.revision - b.revision)
}

/**
 * A `helm rollback` that did not finish. Helm (pkg/action/rollback.go, v3.17.2 and v4.1.4) stores
 * the new revision, with the chart and values of the revision rolled back to, as pending-rollback
 * "Rollback to N" before it applies anything; a killed Helm leaves it so. A failure marks it failed
 * with `Rollback "<release>" failed: …` (applying) or `Release "<release>" failed: …` (--wait),
 * the latter also what a failed install writes, so only after an earlier revision that still
 * stood (an install over an uninstalled history follows `uninstalled`).
 */
function isRollbackAttempt(r: HelmRevision, before: HelmRevision | undefined): boolean {
  if (r.status === 'pending-rollback') return true
  if (r.status !== 'failed' || before === undefined) return false
  if (/^Rollback to \d+$/.test(r.description) || /^Rollback ".*" failed: /.test(r.description)) {
    return true
  }
  return /^Release ".*" failed: /.test(r.description) && !/^uninstall/.test(before.status)
}

/**
 * History as the move left it, without the rollbacks that did not finish on top of it: such a
 * revision carries T's chart, so read naively it makes C = T and a re-run would restore only,
 * leaving Helm failed. Ascending by revision; `attempts` are the revisions set aside.
 */
export function settledHistory(history: readonly HelmRevision[]): {
  settled: HelmRevision[]
  attempts: HelmRevision[]
} {
  const settled = byRevision(history)
  const attempts: HelmRevision[] = []
  while (settled.length > 1) {
    const top = settled[settled.length - 1] as HelmRevision
    if (!isRollbackAttempt(top, settled[settled.length - 2])) break
    attempts.unshift(top)
    settled.pop()
  }
  return { settled, attempts }
}

function describeRevision(r: HelmRevision): string {
  return `${r.revision} ${revisionVersion(r) ?? '(unknown version)'} ${r.status}`
}

interface PreviousPick {
  version: string
  revision: HelmRevision
  /** Older revisions with a different version that were passed over (never deployed). */
  skipped: HelmRevision[]
}

/**
 * `target-version: previous`: the newest revision older than the newest one whose
 * version differs from the current version (the newest revision's, whatever its status).
 * Revisions with no parseable version are skipped, and so are revisions that never ran
 * (failed / pending-*: only deployed or superseded count), so a chain of failed upgrades leads
 * back to the last version that actually ran. Undefined when history has no such revision.
 */
function pickPrevious(history: readonly HelmRevision[]): PreviousPick | undefined {
  const sorted = byRevision(history)
  const newest = sorted.at(-1)
  if (newest === undefined) return undefined
  const current = revisionVersion(newest)
  if (current === undefined) return undefined
  const skipped: HelmRevision[] = []
  for (let i = sorted.length - 2; i >= 0; i--) {
    const rev = sorted[i]
    if (rev === undefined) continue
    const version = revisionVersion(rev)
    if (version === undefined || semver.eq(version, current)) continue
    if (!RAN_STATUSES.has(rev.status)) {
      skipped.push(rev)
      continue
    }
    return { version, revision: rev, skipped }
  }
  return undefined
}

/** Kubernetes API version order: v1alpha1 < v1alpha4 < v1beta1 < v1beta2 < v1 < v2alpha1 … */
function apiVersionRank(version: string): number[] | undefined {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version)
  if (m === null) return undefined
  const stage = m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2
  return [Number(m[1]), stage, m[3] === undefined ? 0 : Number(m[3])]
}

function apiVersionAtLeast(version: string, floor: string): boolean {
  const a = apiVersionRank(version)
  const b = apiVersionRank(floor)
  if (a === undefined || b === undefined) return false
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  }
  return true
}

interface Evidence {
  rule: string
  facts: string[]
}

/** Cluster evidence that T cannot be reached without cleanup, whatever Helm history says. */
function cleanupEvidence(target: string, capi: CapiFacts): Evidence[] {
  const found: Evidence[] = []
  /** Which CRDs store a version at or above `floor`, as facts. */
  const storing = (floor: string): string[] =>
    Object.entries(capi.storedVersionsByCrd)
      .filter(([, versions]) => versions.some(v => apiVersionAtLeast(v, floor)))
      .map(([crd, versions]) => `${crd} status.storedVersions: [${versions.join(', ')}]`)
  const beta1Plus = capi.storedVersions.filter(v => apiVersionAtLeast(v, 'v1beta1'))
  if (beta1Plus.length > 0 && semver.lt(target, '2.6.4')) {
    found.push({
      rule: `the CAPI CRDs store ${beta1Plus.join(', ')} and T < 2.6.4 (v2.6.3 and earlier only know v1alpha4)`,
      facts: storing('v1beta1')
    })
  }
  const beta2Plus = capi.storedVersions.filter(v => apiVersionAtLeast(v, 'v1beta2'))
  if (beta2Plus.length > 0 && semver.lt(target, '2.14.0')) {
    found.push({
      rule: `the CAPI CRDs store ${beta2Plus.join(', ')} (Rancher v2.14+) and T < 2.14.0`,
      facts: storing('v1beta2')
    })
  }
  // v2.13+ replaced rancher-provisioning-capi by Turtles (core CAPI in cattle-capi-system): the
  // same conflict with v2.7.6's embedded controllers, and its namespaces are evidence of their
  // own. So a missing cattle-provisioning-capi-system proves nothing about 2.7.7.
  const turtles = capi.turtlesNamespaces
  if (
    (capi.provisioningNamespaceExists || capi.provisioningReleaseExists || turtles.length > 0) &&
    semver.lt(target, '2.7.7')
  ) {
    const facts: string[] = []
    if (capi.provisioningNamespaceExists) facts.push(`namespace ${CAPI_NAMESPACE} exists`)
    if (capi.provisioningReleaseExists) facts.push(`Helm release ${CAPI_RELEASE} exists`)
    facts.push(...turtles.map(ns => `namespace ${ns} exists`))
    found.push({
      rule:
        turtles.length > 0
          ? 'a CAPI controller app (rancher-provisioning-capi from v2.7.7, Rancher Turtles from v2.13.0) is present and T < 2.7.7'
          : 'rancher-provisioning-capi (installed by v2.7.7+) is present and T < 2.7.7',
      facts
    })
  }
  return found
}

function refuse(
  from: string,
  to: string,
  rule: string,
  reason: string,
  instead: string
): RefuseDecision {
  return { kind: 'refuse', from, to, rule, reason, instead }
}

/**
 * An interrupted cleanup-and-reinstall is finished before anything else is considered: Rancher
 * is already deleted (no release), or reinstalled at the target but never verified.
 */
function resumeInterrupted(input: DecisionInput, explicitTarget: string): Decision | undefined {
  const saved = input.interrupted
  if (!saved) return undefined
  const newest = byRevision(input.history).at(-1)
  const newestVersion = newest ? revisionVersion(newest) : undefined
  const halfDone = !input.releaseExists || input.history.length === 0 || newestVersion === saved.to
  if (!halfDone) return undefined
  if (explicitTarget && explicitTarget !== saved.to) {
    return refuse(
      saved.from,
      explicitTarget,
      'interrupted rollback',
      `A cleanup-and-reinstall from ${saved.from} to ${saved.to} (started ${saved.savedAt} by ${saved.holder}) deleted Rancher and did not finish; target-version ${explicitTarget} would start another one on top of it.`,
      `Finish that one first: re-run with target-version ${saved.to} (or previous). To abandon it, delete Secret ${SAVED} after copying what you need from it.`
    )
  }
  const reinstall = input.releaseExists ? reinstalledBy(input, saved.from, saved.to) : undefined
  if (reinstall) {
    return {
      kind: 'proceed',
      procedure: 'cleanup-and-reinstall',
      from: saved.from,
      to: saved.to,
      rule: `resume: an earlier run of this action cleaned up and reinstalled ${saved.to}, and was stopped before it verified; this run verifies it and deletes the saved state`,
      reasons: [
        `Secret ${SAVED} records a cleanup-and-reinstall from ${saved.from} to ${saved.to}, saved ${saved.savedAt} by ${saved.holder}.`,
        ...reinstall.reasons
      ],
      rollbackRevision: undefined,
      reinstalled: true
    }
  }
  return {
    kind: 'proceed',
    procedure: 'cleanup-and-reinstall',
    from: saved.from,
    to: saved.to,
    rule: 'resume: an earlier run of this action deleted Rancher (rancher-cleanup) and did not finish the reinstall',
    reasons: [
      `Secret ${SAVED} records a cleanup-and-reinstall from ${saved.from} to ${saved.to}, saved ${saved.savedAt} by ${saved.holder}.`,
      input.releaseExists
        ? `Release is at ${newestVersion} but was never verified; the procedure runs again from the saved values.`
        : 'There is no Helm release any more: the procedure continues from the values and Secrets saved in the cluster.'
    ],
    rollbackRevision: undefined
  }
}

const FROM_LABEL = 'rancher-rollback/from-version'
const TO_LABEL = 'rancher-rollback/to-version'

/**
 * The reinstall of a cleanup-and-reinstall to `to` went through: the release's whole history is
 * `to` (rancher-cleanup deleted the one before, so F appears nowhere), its newest revision is
 * deployed, and this action's Restore of the move (labels from `from`, or any version above `to`
 * when `from` is not known, to `to`; the same backup) has completed. The reasons, or undefined.
 */
function reinstalledBy(
  input: DecisionInput,
  from: string | undefined,
  to: string
): { from: string; reasons: string[] } | undefined {
  const sorted = byRevision(input.history)
  const newest = sorted.at(-1)
  if (!newest || newest.status !== 'deployed') return undefined
  if (!sorted.every(r => revisionVersion(r) === to)) return undefined
  const toLabel = restoreLabels(to, to)[TO_LABEL]
  const restore = (input.restores ?? []).find(r => {
    if (!r.completed || r.labels[TO_LABEL] !== toLabel) return false
    if (input.backupFilename && r.backupFilename !== input.backupFilename) return false
    if (from !== undefined) return r.labels[FROM_LABEL] === restoreLabels(from, to)[FROM_LABEL]
    const was = parseVersion(r.labels[FROM_LABEL] ?? '')
    return was !== undefined && semver.gt(was.version, to)
  })
  if (!restore) return undefined
  const was = from ?? parseVersion(restore.labels[FROM_LABEL] ?? '')?.version ?? ''
  return {
    from: was,
    reasons: [
      `Restore ${restore.name} (this action's, from ${was} to ${to}, of ${restore.backupFilename}) has completed.`,
      `Helm history is only ${to} (${sorted.map(describeRevision).join('; ')}), newest deployed: the reinstall went through; what is left is to verify it.`
    ]
  }
}

/**
 * A cleanup-and-reinstall stopped after its reinstall went through and after it deleted its saved
 * state (killed just before it released the lock): nothing records the move but its completed
 * Restore and a history that is all T, so `previous` finds nothing to return to. The move is
 * finished instead (verify). Only for `previous`, as resumeRolledBack.
 */
function resumeReinstalled(input: DecisionInput): Decision | undefined {
  if (input.target.kind !== 'previous' || input.interrupted || !input.releaseExists) {
    return undefined
  }
  const newest = byRevision(input.history).at(-1)
  const to = newest ? revisionVersion(newest) : undefined
  if (to === undefined) return undefined
  const done = reinstalledBy(input, undefined, to)
  if (!done) return undefined
  const { from, reasons } = done
  return {
    kind: 'proceed',
    procedure: 'cleanup-and-reinstall',
    from,
    to,
    rule: `resume: an earlier run of this action cleaned up and reinstalled ${to} from ${from}; this run finishes it (verifies)`,
    reasons,
    rollbackRevision: undefined,
    reinstalled: true
  }
}

/**
 * An in-place rollback whose Restore completed and whose `helm rollback` went through, stopped
 * (cancelled, killed) before it verified: the release now shows T, so read naively C = T, and
 * `previous` would even point back up at the version rolled back from. The move is finished
 * instead: its completed Restore (labels from F to T, same backup) and the "Rollback to N"
 * revision on top of F's (or on top of rollbacks of it that did not finish) say which it was. Only for `previous`, which would otherwise refuse: an
 * explicit T = C is the table's restore-only, which converges as well.
 */
function resumeRolledBack(input: DecisionInput): Decision | undefined {
  if (input.target.kind !== 'previous') return undefined
  const sorted = byRevision(input.history)
  const newest = sorted.at(-1)
  // F's revision, under the rollbacks that did not finish before this one went through (a killed
  // `helm rollback` stays pending-rollback: Helm supersedes only deployed revisions on success).
  const before = settledHistory(sorted.slice(0, -1)).settled.at(-1)
  if (!newest || !before || newest.status !== 'deployed') return undefined
  const back = /^Rollback to (\d+)$/.exec(newest.description)
  const to = revisionVersion(newest)
  const from = revisionVersion(before)
  if (!back || to === undefined || from === undefined || !semver.gt(from, to)) return undefined
  const labels = Object.entries(restoreLabels(from, to))
  const restore = (input.restores ?? []).find(
    r =>
      r.completed &&
      labels.every(([k, v]) => r.labels[k] === v) &&
      (!input.backupFilename || r.backupFilename === input.backupFilename)
  )
  if (!restore) return undefined
  return {
    kind: 'proceed',
    procedure: 'in-place',
    from,
    to,
    rule: `resume: an earlier run of this action restored and rolled back from ${from} to ${to} ; this run finishes it (verifies)`,
    reasons: [
      `Restore ${restore.name} (this action's, from ${from} to ${to}, of ${restore.backupFilename}) has completed.`,
      `Helm revision ${newest.revision} (${to}, deployed) is "${newest.description}", on top of revision ${before.revision} (${from}): the rollback went through; what is left is to verify it.`
    ],
    rollbackRevision: Number(back[1])
  }
}

/**
 * Which documented procedure rolls Rancher from the current version C (the newest Helm revision,
 * whatever its status, once rollbacks that did not finish are set aside: settledHistory) back to
 * the target T, or why not. Pure.
 *
 * Table, first match wins: T > C refuse; T < 2.2.0 refuse (unsupported); T < 2.5.0 refuse
 * (etcd snapshot); T = C restore-only; C ≥ 2.6.4 > T, C ≥ 2.7.7 > T, C ≥ 2.14.0 > T
 * cleanup-and-reinstall; otherwise in-place. Cluster evidence (CAPI stored versions,
 * rancher-provisioning-capi, the Turtles namespaces) can turn in-place / restore-only into cleanup-and-reinstall, never
 * the other way. For the boundaries a pre-release C counts as its release (2.6.4-rc1 ≥ 2.6.4);
 * T is compared strictly (2.6.4-rc1 < 2.6.4).
 */
export function decide(input: DecisionInput): Decision {
  const explicitTarget =
    input.target.kind === 'explicit' ? normalizeVersion(input.target.version) : ''

  const resumed =
    resumeInterrupted(input, explicitTarget) ?? resumeRolledBack(input) ?? resumeReinstalled(input)
  if (resumed) return resumed

  if (!input.releaseExists || input.history.length === 0) {
    return refuse(
      '',
      explicitTarget,
      'no Helm release',
      'There is no Helm release of Rancher (release-name, default `rancher`) in the namespace (default `cattle-system`), so there is nothing this action can roll back.',
      'If Rancher runs as a Docker single-node install, roll it back on the host by restoring the rancher-data backup tarball and running the older rancher/rancher image: ' +
        `${DOCKER_ROLLBACK_DOC}. Otherwise check the namespace, release-name, kubeconfig and context inputs (\`helm list -A\` shows where the release lives).`
    )
  }

  const { settled: sorted, attempts } = settledHistory(input.history)
  const newest = sorted.at(-1) as HelmRevision
  const current = revisionVersion(newest)
  if (current === undefined) {
    return refuse(
      '',
      explicitTarget,
      'current version unknown',
      `The newest Helm revision (${newest.revision}, ${newest.status}) has no parseable Rancher version (app version '${newest.appVersion}', chart '${newest.chart}').`,
      'Check `helm history rancher -n cattle-system`; roll back by hand following ' + ROLLBACKS_DOC
    )
  }
  const historyLine = `Helm history (revision version status): ${byRevision(input.history).map(describeRevision).join('; ')}.`
  const currentLine = `C = ${current}: the version of the newest revision ${newest.revision} (${newest.status})${
    newest.status === 'deployed'
      ? ''
      : '; a failed or pending upgrade may already have changed the cluster'
  }.`

  // Target version T.
  let target: string
  const targetLines: string[] = []
  if (input.target.kind === 'explicit') {
    const parsed = parseVersion(input.target.version)
    if (parsed === undefined) {
      return refuse(
        current,
        explicitTarget,
        'invalid target version',
        `target-version '${input.target.version}' is not a semantic version.`,
        'Give target-version as a Rancher version such as `2.8.4` or `v2.8.4`, or `previous`.'
      )
    }
    target = parsed.version
    targetLines.push(`T = ${target}: given as target-version.`)
  } else {
    const pick = pickPrevious(sorted)
    if (pick === undefined) {
      return refuse(
        current,
        '',
        'no previous version',
        `Helm history has no earlier Rancher version than the current ${current} that was deployed. ${historyLine}`,
        'Give target-version explicitly (the Rancher version to return to); Helm keeps only --history-max revisions (default 10), so older ones may have been pruned.'
      )
    }
    target = pick.version
    targetLines.push(
      `T = ${target}: target-version previous, the newest earlier revision with another version is ${pick.revision.revision} (${pick.revision.status}).`
    )
    if (pick.skipped.length > 0) {
      targetLines.push(
        `Skipped revisions that never ran: ${pick.skipped.map(describeRevision).join('; ')}.`
      )
    }
  }

  const attemptLine =
    attempts.length === 0
      ? []
      : [
          `Set aside, a helm rollback that did not finish: ${attempts.map(r => `${describeRevision(r)} "${r.description}"`).join('; ')}; C is read from the revision before it, and helm rollback runs again (Helm rolls back from any status).`
        ]
  const reasons = [currentLine, ...attemptLine, ...targetLines, historyLine]

  // Refusals, in table order.
  if (semver.gt(target, current)) {
    return refuse(
      current,
      target,
      'T > C: not a rollback',
      `Target ${target} is newer than the current version ${current}: that is an upgrade, not a rollback.` +
        (input.target.kind === 'previous'
          ? ' (Helm history shows a newer version before the current one: the release may already have been rolled back.)'
          : ''),
      `Upgrade instead, following Rancher's upgrade procedure (${UPGRADES_DOC}): take a backup with rancher-backup, then \`helm upgrade rancher <repo>/rancher -n cattle-system --version ${target}\` with the same values.`
    )
  }
  if (semver.lt(target, '2.2.0')) {
    return refuse(
      current,
      target,
      'T < 2.2.0: unsupported by Rancher',
      semver.lt(target, '2.0.0')
        ? `Target ${target} is Rancher 1.x, a different product: there is no rollback from Rancher 2.x to it.`
        : `Rolling back to Rancher v2.0-v2.1 (target ${target}) is no longer supported by Rancher.`,
      `Roll back to v2.2 or later instead. Rancher keeps the old v2.0-v2.1 instructions only for cases where an upgrade to v2.2+ is not feasible: ${V20_V21_DOC}`
    )
  }
  if (semver.lt(target, '2.5.0')) {
    return refuse(
      current,
      target,
      'T in 2.2.x-2.4.x: etcd snapshot restore',
      `Rancher v2.2-v2.4 (target ${target}) predates the rancher-backup operator: it is rolled back by restoring an etcd snapshot of the Rancher server cluster, which this action does not do.`,
      'Restore an RKE etcd snapshot of the Rancher server (local) cluster taken before the upgrade, from a host with RKE, kubectl and the original rancher-cluster.yml and rancher-cluster.rkestate: ' +
        '1) stop the Kubernetes services on the old nodes (or use clean nodes) and place the snapshot in /opt/rke/etcd-snapshots on one etcd node (or add the --s3 options); ' +
        '2) run `rke etcd snapshot-restore --config rancher-cluster.yml --name <snapshot>` (snapshot name without extension); ' +
        '3) wait for the pods in kube-system and the rancher pod in cattle-system to be Running: Rancher returns to the version and state of the snapshot. ' +
        `Procedure: ${ETCD_RESTORE_DOC}`
    )
  }

  // Procedures, in table order.
  let procedure: Procedure
  let rule: string
  const currentRelease = releaseOf(current)
  const crossed = BOUNDARIES.filter(
    b => semver.gte(currentRelease, b.at) && semver.lt(target, b.at)
  )
  if (semver.eq(target, current)) {
    procedure = 'restore-only'
    rule = 'T = C: restore the backup, no Helm change'
  } else if (crossed.length > 0) {
    const first = crossed[0] as { at: string; why: string }
    procedure = 'cleanup-and-reinstall'
    rule = `C ≥ ${first.at} and T < ${first.at}: ${first.why}`
    for (const b of crossed.slice(1)) reasons.push(`Also crosses ${b.at}: ${b.why}.`)
    if (currentRelease !== current && semver.lt(current, first.at)) {
      reasons.push(
        `The pre-release ${current} counts as ${currentRelease} for the ${first.at} boundary.`
      )
    }
  } else {
    procedure = 'in-place'
    rule = 'T ≥ 2.5.0, no version boundary crossed: Restore, then helm rollback'
  }

  // Evidence can only make it safer.
  const evidence = cleanupEvidence(target, input.capi)
  if (evidence.length > 0) {
    const evidenceFacts = evidence.flatMap(e => e.facts)
    if (procedure === 'cleanup-and-reinstall') {
      reasons.push(
        `Cluster evidence agrees: ${evidence.map(e => e.rule).join('; ')} (${evidenceFacts.join('; ')}).`
      )
    } else {
      reasons.push(`Helm history alone chose ${procedure} (${rule}).`)
      reasons.push(...evidenceFacts.map(f => `${f}.`))
      reasons.push(
        'A failed upgrade may have migrated CRDs: the cluster is not at the version Helm history suggests.'
      )
      procedure = 'cleanup-and-reinstall'
      rule = `cluster evidence: ${evidence.map(e => e.rule).join('; ')}: cleanup-and-reinstall overrides Helm history (a failed upgrade may have migrated CRDs)`
    }
  }

  let rollbackRevision: number | undefined
  if (procedure === 'in-place') {
    const ofTarget = sorted.filter(r => {
      const v = revisionVersion(r)
      return v !== undefined && semver.eq(v, target)
    })
    const ran = ofTarget.filter(r => RAN_STATUSES.has(r.status))
    const chosen = ran.at(-1) ?? ofTarget.at(-1)
    if (chosen === undefined) {
      const available = sorted
        .filter(r => {
          const v = revisionVersion(r)
          return v !== undefined && semver.lt(v, current)
        })
        .map(r => `${revisionVersion(r)} (revision ${r.revision})`)
      return refuse(
        current,
        target,
        'in-place needs a Helm revision of T',
        `helm rollback needs a revision whose app version is ${target}, and Helm history has none. ${historyLine}`,
        [
          `Helm keeps only --history-max revisions (default 10), so the revision of ${target} may have been pruned.`,
          available.length > 0
            ? `Choose a target-version that is still in Helm history: ${[...new Set(available)].join(', ')}.`
            : '',
          `Or roll back by hand (a Restore from the backup, then reinstall ${target}) following ${ROLLBACKS_DOC}.`
        ]
          .filter(s => s !== '')
          .join(' ')
      )
    }
    rollbackRevision = chosen.revision
    reasons.push(
      `helm rollback target: revision ${chosen.revision} (${chosen.status}), the newest revision of ${target}.`
    )
    if (!RAN_STATUSES.has(chosen.status)) {
      reasons.push(
        `No revision of ${target} was ever deployed successfully; revision ${chosen.revision} is ${chosen.status}.`
      )
    }
  }

  return { kind: 'proceed', procedure, from: current, to: target, rule, reasons, rollbackRevision }
}
