/**
 * The cluster-side lock: a Lease in kube-system. Creating an object is atomic in the API server,
 * so two runs cannot both win; a lock past its duration is taken over with the resourceVersion it
 * was read at, so two runs cannot both take it over either.
 */
import { hostname } from 'node:os'
import { leaseVerdict } from '../../decide/lease-verdict.js'
import { parseJson } from '../../facts/parsers.js'
import { CommandError, isAlreadyExists } from '../../kube/command-runner.js'
import * as cmd from '../../kube/commands.js'
import { leaseManifest } from '../../kube/manifests.js'
import { LOCK_NAME, LOCK_NAMESPACE } from '../../kube/names.js'
import { releaseCommands, releaseIfHeld } from '../lock-release.js'
import { defineStep, StepFailure } from '../step.js'

const LEASE = `${LOCK_NAMESPACE}/${LOCK_NAME}`

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

function heldBy(holder: string, since: string, expiresAt: string): StepFailure {
  return new StepFailure(
    `Another rollback holds the lock (Lease ${LEASE}): ${holder}, since ${since}, until ${expiresAt}.`,
    `Wait for that run to finish, or, if it is dead, delete the Lease: kubectl -n ${LOCK_NAMESPACE} delete lease ${LOCK_NAME}`
  )
}

export const takeLock = defineStep({
  id: 'lock',
  title: () => `Take the cluster lock (Lease ${LEASE})`,
  commands: () => ({
    read: cmd.getLease(),
    create: cmd.createFromStdin(`Lease ${LEASE} naming this run`, ''),
    takeOver: cmd.replaceFromStdin(`Lease ${LEASE} taken over from an expired holder`, '')
  }),
  async run(ctx, c) {
    const durationSeconds = Math.ceil(ctx.settings.timeoutMs / 1000)
    for (let attempt = 0; attempt < 2; attempt++) {
      const lease = parseJson((await ctx.runner.run(c.read)).stdout, 'lease')
      const verdict = leaseVerdict(lease, ctx.holder, ctx.now())
      switch (verdict.action) {
        case 'mine':
          return `already held by this run (${ctx.holder})`
        case 'held':
          throw heldBy(verdict.holder, verdict.since, verdict.expiresAt)
        case 'create':
          try {
            const manifest = leaseManifest({ holder: ctx.holder, durationSeconds, now: ctx.now() })
            await ctx.runner.run({ ...c.create, stdin: JSON.stringify(manifest) })
            return `taken by ${ctx.holder} for ${durationSeconds}s`
          } catch (e) {
            if (isAlreadyExists(e)) continue // another run won the race: read who it is
            throw e
          }
        case 'take-over':
          try {
            const manifest = leaseManifest({
              holder: ctx.holder,
              durationSeconds,
              now: ctx.now(),
              resourceVersion: verdict.resourceVersion
            })
            await ctx.runner.run({ ...c.takeOver, stdin: JSON.stringify(manifest) })
            return `taken over from expired holder ${verdict.previousHolder}`
          } catch (e) {
            if (isConflict(e)) continue
            throw e
          }
      }
    }
    throw new StepFailure(
      'The lock changed hands twice while this run tried to take it.',
      'Another rollback is starting at the same time: let it finish, then re-run.'
    )
  }
})

/** Runs after a failure too, and never fails the run: the Lease expires by itself. */
export const releaseLock = defineStep({
  id: 'release-lock',
  always: true,
  title: () => `Release the cluster lock (Lease ${LEASE}) if this run holds it`,
  commands: releaseCommands,
  run: (ctx, c) => releaseIfHeld(ctx.runner, c, ctx.holder, ctx.now())
})
