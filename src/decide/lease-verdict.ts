/**
 * What to do about the lock Lease (kube-system/rancher-rollback), from what `kubectl get -o json`
 * returned. Expired when renewTime + leaseDurationSeconds < now. A Lease whose times cannot be read
 * (hand-edited) counts as expired, so a broken lock never blocks rollbacks for good.
 *
 * The holder renews its Lease while it runs, as Kubernetes leader election does; a run that finds
 * the Lease held watches it (`waitVerdict`): a renewal proves the holder alive, a Lease left
 * unrenewed for its duration is a dead holder's, taken over. A Lease an earlier attempt of this
 * same workflow run holds is a dead holder's too, taken over at once (`earlierAttempt`).
 */
import { asObject, asString } from '../facts/json-fields.js'

export type LeaseVerdict =
  | { action: 'create' }
  | {
      action: 'take-over'
      previousHolder: string
      resourceVersion: string
      /** The previous holder was this attempt of this workflow run, which has ended. */
      earlierAttempt?: number
    }
  | {
      action: 'held'
      holder: string
      since: string
      expiresAt: string
      /** Last renewal, epoch ms (the holder's clock). */
      renewedAt: number
      durationMs: number
      resourceVersion: string
    }
  | { action: 'mine'; resourceVersion: string; acquiredAt: number | undefined }

/** MicroTime (`…T08:00:00.000000Z`) or RFC 3339 → epoch ms; undefined when unreadable. */
export function parseKubeTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v.trim() === '') return undefined
  const normalised = v.trim().replace(/(\.\d{3})\d+/, '$1')
  const ms = Date.parse(normalised)
  return Number.isNaN(ms) ? undefined : ms
}

/** What a holder identity (lock.ts `holderIdentity`) says of the workflow run it belongs to. */
export interface RunAttempt {
  /** `<server>/<repo>/actions/runs/<run id>`: the workflow run, whatever the attempt. */
  run: string
  attempt: number
}

const RUN_ATTEMPT = /^(\S+\/actions\/runs\/\d+)\/attempts\/(\d+) job /

/** The run and attempt a holder identity names; undefined for a 'local run' or anything else. */
export function runAttemptOf(holder: string): RunAttempt | undefined {
  const m = RUN_ATTEMPT.exec(holder)
  if (!m) return undefined
  const attempt = Number(m[2])
  return Number.isSafeInteger(attempt) && attempt > 0 ? { run: m[1]!, attempt } : undefined
}

/**
 * The attempt number when `holder` is an earlier attempt (lower number) of the same workflow run
 * (same server, repository and run id) as `me`; undefined otherwise.
 *
 * GitHub re-runs a workflow run (all jobs, failed jobs or one job) as a new attempt of the same
 * run id, and only once the whole run has completed: "Re-running workflows and jobs"
 * (docs.github.com/en/actions/managing-workflow-runs/re-running-workflows-and-jobs) and
 * GITHUB_RUN_ATTEMPT ("increments with each re-run", docs.github.com/en/actions/learn-github-actions/variables);
 * the REST API refuses a re-run while the run is in progress with 403 "The workflow run containing
 * this job is already running" (seen in NVIDIA-NeMo/RL#1193), and a re-run copies the results of
 * the jobs it does not re-run, which needs them finished (actions/runner#432). So while attempt n
 * runs, every job of attempts 1..n-1 has ended: their Lease is a dead holder's, whatever it says
 * about renewals.
 */
export function earlierAttempt(holder: string, me: string): number | undefined {
  const theirs = runAttemptOf(holder)
  const mine = runAttemptOf(me)
  if (theirs === undefined || mine === undefined) return undefined
  return theirs.run === mine.run && theirs.attempt < mine.attempt ? theirs.attempt : undefined
}

export function leaseVerdict(lease: unknown | undefined, me: string, now: Date): LeaseVerdict {
  let value = lease
  if (typeof value === 'string') {
    if (value.trim() === '') return { action: 'create' }
    value = JSON.parse(value) as unknown
  }
  if (typeof value !== 'object' || value === null) return { action: 'create' }

  const o = asObject(value)
  const spec = asObject(o.spec)
  const resourceVersion = asString(asObject(o.metadata).resourceVersion)
  const holder = asString(spec.holderIdentity)

  if (holder !== '' && holder === me) {
    return { action: 'mine', resourceVersion, acquiredAt: parseKubeTime(spec.acquireTime) }
  }
  if (holder === '') return { action: 'take-over', previousHolder: '', resourceVersion }
  const attempt = earlierAttempt(holder, me)
  if (attempt !== undefined) {
    return { action: 'take-over', previousHolder: holder, resourceVersion, earlierAttempt: attempt }
  }

  const renewed = parseKubeTime(spec.renewTime) ?? parseKubeTime(spec.acquireTime)
  const duration =
    typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : Number.NaN
  if (renewed === undefined || !Number.isFinite(duration)) {
    return { action: 'take-over', previousHolder: holder, resourceVersion }
  }
  const expiresAt = renewed + duration * 1000
  if (expiresAt < now.getTime())
    return { action: 'take-over', previousHolder: holder, resourceVersion }

  const acquired = parseKubeTime(spec.acquireTime) ?? renewed
  return {
    action: 'held',
    holder,
    since: new Date(acquired).toISOString(),
    expiresAt: new Date(expiresAt).toISOString(),
    renewedAt: renewed,
    durationMs: duration * 1000,
    resourceVersion
  }
}

export type RenewalVerdict =
  | { action: 'renew'; resourceVersion: string; acquiredAt: number | undefined }
  | { action: 'lost'; why: string }

/** For the holder's renewal: renew what is still ours, and say why when it is not. */
export function renewalVerdict(lease: unknown, me: string, now: Date): RenewalVerdict {
  const v = leaseVerdict(lease, me, now)
  switch (v.action) {
    case 'mine':
      return { action: 'renew', resourceVersion: v.resourceVersion, acquiredAt: v.acquiredAt }
    case 'create':
      return { action: 'lost', why: 'someone deleted the Lease' }
    case 'take-over':
      return {
        action: 'lost',
        why: v.previousHolder === '' ? 'it was released' : `${v.previousHolder} holds it`
      }
    case 'held':
      return { action: 'lost', why: `${v.holder} holds it since ${v.since}` }
  }
}

/** A held Lease as a waiting run saw it, `at` its own clock (epoch ms). */
export interface Sighting {
  lease: Extract<LeaseVerdict, { action: 'held' }>
  at: number
}

/** The Lease was deleted, or its holder cleared, when the waiting run read it `at`. */
export interface Release {
  at: number
}

export interface WaitLimits {
  /** This run's deadline for taking the lock (epoch ms, its own clock). */
  deadline: number
  /** The longest a live holder goes without renewing (its interval and a margin). */
  renewalDueMs: number
}

export type WaitVerdict =
  | { action: 'live'; holder: string; since: string; renewedAt: string }
  | { action: 'released'; holder: string; since: string }
  | { action: 'free'; holder: string }
  | { action: 'lapsed'; holder: string; renewedAt: string }
  | { action: 'wait'; holder: string; renewedAt: string; lapsesAt: string }
  | { action: 'give-up'; holder: string; since: string; lapsesAt: string }

/**
 * Whether the run that holds the lock is alive, from the first and the latest sighting of its
 * Lease. Alive once its renewTime moves (or another run took it over), or when it releases the
 * lock before a renewal was due: fail fast then, as this run planned from what the cluster was
 * while that run worked. A release after a missed renewal is a dead holder's Lease deleted by hand:
 * free. A Lease lapses at renewTime + duration by the holder's clock, and at the latest a duration
 * after we first saw it unrenewed by ours, so a holder whose clock runs ahead cannot keep a dead
 * lock forever. Waiting is worth it only when it lapses by the deadline.
 */
export function waitVerdict(
  first: Sighting,
  latest: Sighting | Release,
  limits: WaitLimits
): WaitVerdict {
  if (!('lease' in latest)) {
    const { holder, since } = first.lease
    return latest.at - first.at > limits.renewalDueMs
      ? { action: 'free', holder }
      : { action: 'released', holder, since }
  }
  const { holder } = latest.lease
  const renewedAt = new Date(latest.lease.renewedAt).toISOString()
  if (holder !== first.lease.holder || latest.lease.renewedAt > first.lease.renewedAt) {
    return { action: 'live', holder, since: latest.lease.since, renewedAt }
  }
  const lapses = Math.min(
    latest.lease.renewedAt + latest.lease.durationMs,
    first.at + latest.lease.durationMs
  )
  if (lapses < latest.at) return { action: 'lapsed', holder, renewedAt }
  const lapsesAt = new Date(lapses).toISOString()
  if (lapses > limits.deadline) {
    return { action: 'give-up', holder, since: latest.lease.since, lapsesAt }
  }
  return { action: 'wait', holder, renewedAt, lapsesAt }
}
