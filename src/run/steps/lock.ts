/**
 * The cluster-side lock: a Lease in kube-system. Creating an object is atomic in the API server,
 * so two runs cannot both win; a lock past its duration is taken over with the resourceVersion it
 * was read at, so two runs cannot both take it over either. The Lease is short and renewed in the
 * background while the run lives, so a killed run's lock lapses within a minute; a run that finds
 * the lock held watches it: a holder that renews is alive (fail fast), one that does not is waited
 * out and taken over. A lock an earlier attempt of this same workflow run holds is taken over at
 * once: GitHub re-runs a run only once all of it has ended (lease-verdict.ts `earlierAttempt`).
 */
import { hostname } from 'node:os'
import {
  leaseVerdict,
  renewalVerdict,
  waitVerdict,
  type Sighting
} from '../../decide/lease-verdict.js'
import { parseJson } from '../../facts/parsers.js'
import { CommandError, isAlreadyExists } from '../../kube/command-runner.js'
import * as cmd from '../../kube/commands.js'
import { leaseManifest } from '../../kube/manifests.js'
import { LOCK_NAME, LOCK_NAMESPACE } from '../../kube/names.js'
import { startRenewer, type RenewalOutcome, type Renewer } from '../lease-renewer.js'
import { releaseCommands, releaseIfHeld } from '../lock-release.js'
import { defineStep, StepFailure, type StepContext } from '../step.js'

const LEASE = `${LOCK_NAMESPACE}/${LOCK_NAME}`

/** A dead holder's lock lapses this long after its last renewal. */
const LEASE_DURATION_S = 60
/** Four renewals per duration: a few failing in a row do not lose the lock. */
const RENEW_EVERY_MS = 15_000
/** The longest a live holder goes without renewing: its interval, and a margin for the call. */
const RENEWAL_DUE_MS = RENEW_EVERY_MS + 5_000
/** How long one watch on a held Lease lasts before it is read again. */
const WATCH_MS = 10_000
/** A waiting run waits for a lock that lapses within this, never longer (nor past its timeout). */
const MAX_WAIT_MS = 2 * LEASE_DURATION_S * 1000

/** Lease holder: unique per run attempt and process, readable by the person who finds it. */
export function holderIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const run = env.GITHUB_RUN_ID
    ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID}/attempts/${env.GITHUB_RUN_ATTEMPT ?? '1'}`
    : 'local run'
  return `${run} job ${env.GITHUB_JOB ?? '-'} (${hostname()}:${process.pid})`
}

function isConflict(e: unknown): boolean {
  return (
    e instanceof CommandError &&
    /the object has been modified|Conflict/i.test(e.result?.stderr ?? '')
  )
}

const DELETE_LEASE = `kubectl -n ${LOCK_NAMESPACE} delete lease ${LOCK_NAME}`

function heldByLive(holder: string, since: string, renewedAt: string): StepFailure {
  return new StepFailure(
    `Another rollback holds the lock (Lease ${LEASE}): ${holder}, since ${since}. It is running: it renewed the lock at ${renewedAt}.`,
    'Wait for that run to finish, then re-run. Do not delete the Lease while it runs.'
  )
}

function releasedByLive(holder: string, since: string): StepFailure {
  return new StepFailure(
    `Another rollback holds the lock (Lease ${LEASE}), or did until just now: ${holder}, since ${since}. It was running: it released the lock while this run waited, before a renewal was due, so what this run planned from may have changed since.`,
    'Re-run: it plans from what that run left.'
  )
}

function heldBy(holder: string, since: string, lapsesAt: string): StepFailure {
  return new StepFailure(
    `Another rollback holds the lock (Lease ${LEASE}): ${holder}, since ${since}, until ${lapsesAt}, longer than this run waits for a lock.`,
    `Wait for that run to finish, or, if it is dead, delete the Lease: ${DELETE_LEASE}`
  )
}

/** The renewal of the lock this process holds (one run per process). */
let renewer: Renewer | undefined

/** Stops renewing the lock; resolves once no renewal is under way. */
export function stopLockRenewal(): Promise<void> {
  const r = renewer
  renewer = undefined
  return r ? r.stop() : Promise.resolve()
}

type LockCommands = ReturnType<typeof lockCommands>

function lockCommands(waitMs: number) {
  return {
    create: cmd.createLease(`Lease ${LEASE} naming this run`),
    read: cmd.getLease(),
    takeOver: cmd.replaceLease(
      `Lease ${LEASE} taken over from an expired holder or an ended attempt of this run`
    ),
    watch: cmd.waitLeaseDeleted(waitMs),
    renewRead: cmd.getLeaseForRenewal(),
    renew: cmd.renewLease(`Lease ${LEASE} renewed by this run`)
  }
}

async function renewOnce(ctx: StepContext, c: LockCommands): Promise<RenewalOutcome> {
  const lease = parseJson((await ctx.runner.run(c.renewRead)).stdout, 'lease')
  const verdict = renewalVerdict(lease, ctx.holder, ctx.now())
  if (verdict.action === 'lost') return { renewed: false, why: verdict.why }
  const manifest = leaseManifest({
    holder: ctx.holder,
    durationSeconds: LEASE_DURATION_S,
    now: ctx.now(),
    acquiredAt: verdict.acquiredAt === undefined ? undefined : new Date(verdict.acquiredAt),
    resourceVersion: verdict.resourceVersion
  })
  await ctx.runner.run({ ...c.renew, stdin: JSON.stringify(manifest) })
  return { renewed: true }
}

function startRenewing(ctx: StepContext, c: LockCommands): void {
  void stopLockRenewal()
  renewer = startRenewer({
    renew: () => renewOnce(ctx, c),
    everyMs: RENEW_EVERY_MS,
    signal: ctx.signal,
    log: ctx.log,
    warn: line => ctx.log(`Warning: ${line}`)
  })
}

export const takeLock = defineStep({
  id: 'lock',
  title: () => `Take the cluster lock (Lease ${LEASE}), renewed while this run lasts`,
  commands: (_input, limits) => lockCommands(limits.limit(WATCH_MS, 'waiting for the lock')),
  async run(ctx, c, limits) {
    const started = ctx.now().getTime()
    const wait = {
      deadline: started + limits.limit(MAX_WAIT_MS, 'waiting for the lock'),
      renewalDueMs: RENEWAL_DUE_MS
    }
    let first: Sighting | undefined
    const waited = () => `${Math.round((ctx.now().getTime() - started) / 1000)}s`
    const taken = (detail: string) => {
      startRenewing(ctx, c)
      return `${detail}; renewed every ${RENEW_EVERY_MS / 1000}s`
    }
    const expired = (holder: string) =>
      taken(
        `taken over from expired holder ${holder}${first ? ` after waiting ${waited()} for ${holder}, who stopped renewing it` : ''}`
      )
    /** A Lease gone or released after we first saw it held: by its live holder, or by hand. */
    const afterRelease = () => {
      if (first === undefined) return ''
      const v = waitVerdict(first, { at: ctx.now().getTime() }, wait)
      if (v.action === 'released') throw releasedByLive(v.holder, v.since)
      return ` after waiting ${waited()} for ${v.holder}, whose Lease was deleted after it stopped renewing it`
    }
    const create = async (): Promise<boolean> => {
      const manifest = leaseManifest({
        holder: ctx.holder,
        durationSeconds: LEASE_DURATION_S,
        now: ctx.now()
      })
      try {
        await ctx.runner.run({ ...c.create, stdin: JSON.stringify(manifest) })
        return true
      } catch (e) {
        if (!isAlreadyExists(e)) throw e
        return false // held, or another run won the race: read who it is
      }
    }
    // The usual case, no Lease at all, in one call; only a Lease already there is read and judged.
    if (await create()) return taken(`taken by ${ctx.holder} for ${LEASE_DURATION_S}s`)
    let races = 0
    while (races < 2) {
      const lease = parseJson((await ctx.runner.run(c.read)).stdout, 'lease')
      const verdict = leaseVerdict(lease, ctx.holder, ctx.now())
      switch (verdict.action) {
        case 'mine':
          return taken(`already held by this run (${ctx.holder})`)
        case 'held': {
          const seen: Sighting = { lease: verdict, at: ctx.now().getTime() }
          first ??= seen
          const next = waitVerdict(first, seen, wait)
          switch (next.action) {
            case 'live':
              throw heldByLive(next.holder, next.since, next.renewedAt)
            case 'give-up':
              throw heldBy(next.holder, next.since, next.lapsesAt)
            case 'lapsed':
              if (await takeOver(ctx, c, verdict.resourceVersion)) return expired(next.holder)
              races++
              continue
            case 'wait':
              if (seen === first)
                ctx.log(
                  `The lock is held by ${next.holder}, last renewed at ${next.renewedAt}: watching it until it lapses at ${next.lapsesAt}. If that run renews or releases it first, it is alive and this run stops.`
                )
              await watch(ctx, c)
              continue
          }
          continue
        }
        case 'create': {
          const after = afterRelease()
          if (await create())
            return taken(`taken by ${ctx.holder} for ${LEASE_DURATION_S}s${after}`)
          races++
          continue
        }
        case 'take-over': {
          const from = verdict.previousHolder
          const after = from === '' ? afterRelease() : ''
          if (await takeOver(ctx, c, verdict.resourceVersion)) {
            if (verdict.earlierAttempt !== undefined) {
              return taken(
                `took over the lock of attempt ${verdict.earlierAttempt} of this run, which ended (${from}), at once`
              )
            }
            return from === '' ? taken(`taken over a released lock${after}`) : expired(from)
          }
          races++
        }
      }
    }
    throw new StepFailure(
      'The lock changed hands twice while this run tried to take it.',
      'Another rollback is starting at the same time: let it finish, then re-run.'
    )
  }
})

/**
 * Until the Lease is deleted or the watch times out. Any other failure would turn the wait into
 * a busy loop of reads, so it ends the step.
 */
async function watch(ctx: StepContext, c: LockCommands): Promise<void> {
  const r = await ctx.runner.run(c.watch)
  if (r.exitCode === 0 || /timed out|NotFound|not found/i.test(r.stderr)) return
  throw new StepFailure(
    `Could not watch the lock (Lease ${LEASE}) another run holds: ${r.stderr.trim().split('\n').at(-1) ?? ''}`,
    `Let the action watch Leases in ${LOCK_NAMESPACE} (get, watch), or wait for that run to finish, then re-run.`
  )
}

/** False when another run changed the Lease since it was read (it may have taken it). */
async function takeOver(
  ctx: StepContext,
  c: LockCommands,
  resourceVersion: string
): Promise<boolean> {
  const manifest = leaseManifest({
    holder: ctx.holder,
    durationSeconds: LEASE_DURATION_S,
    now: ctx.now(),
    resourceVersion
  })
  try {
    await ctx.runner.run({ ...c.takeOver, stdin: JSON.stringify(manifest) })
    return true
  } catch (e) {
    if (isConflict(e)) return false
    throw e
  }
}

/** Runs after a failure too, and never fails the run: the Lease expires by itself. */
export const releaseLock = defineStep({
  id: 'release-lock',
  always: true,
  title: () => `Release the cluster lock (Lease ${LEASE}) if this run holds it`,
  commands: releaseCommands,
  async run(ctx, c) {
    await stopLockRenewal()
    return releaseIfHeld(ctx.runner, c, ctx.holder, ctx.now())
  }
})
