/**
 * The cluster-side lock: a Lease in kube-system. Creating an object is atomic in the API server,
 * so two runs cannot both win; a lock past its duration is taken over with the resourceVersion it
 * was read at, so two runs cannot both take it over either.
 */
import { CommandError, isAlreadyExists } from '../../kube/command-runner.js'
import * as cmd from '../../kube/commands.js'
import { leaseVerdict } from '../../decide/lease-verdict.js'
import { leaseManifest } from '../../kube/manifests.js'
import { parseJson } from '../../facts/parsers.js'
import { StepFailure, type StepContext } from './step-context.js'

async function readLease(ctx: StepContext): Promise<unknown> {
  const out = (await ctx.runner.run(cmd.getLease())).stdout
  return parseJson(out, 'lease')
}

function isConflict(e: unknown): boolean {
  return (
    e instanceof CommandError &&
    /the object has been modified|Conflict/i.test(e.result?.stderr ?? '')
  )
}

function heldBy(holder: string, since: string, expiresAt: string): StepFailure {
  return new StepFailure(
    `Another rollback holds the lock (Lease ${cmd.LOCK_NAMESPACE}/${cmd.LOCK_NAME}): ${holder}, since ${since}, until ${expiresAt}.`,
    `Wait for that run to finish, or, if it is dead, delete the Lease: kubectl -n ${cmd.LOCK_NAMESPACE} delete lease ${cmd.LOCK_NAME}`
  )
}

export async function acquireLock(ctx: StepContext): Promise<string> {
  const durationSeconds = Math.ceil(ctx.settings.timeoutMs / 1000)
  for (let attempt = 0; attempt < 2; attempt++) {
    const verdict = leaseVerdict(await readLease(ctx), ctx.holder, ctx.now())
    switch (verdict.action) {
      case 'mine':
        return `already held by this run (${ctx.holder})`
      case 'held':
        throw heldBy(verdict.holder, verdict.since, verdict.expiresAt)
      case 'create':
        try {
          const lease = leaseManifest({ holder: ctx.holder, durationSeconds, now: ctx.now() })
          await ctx.runner.run(cmd.createFromStdin(JSON.stringify(lease)))
          return `taken by ${ctx.holder} for ${durationSeconds}s`
        } catch (e) {
          if (isAlreadyExists(e)) continue // another run won the race: read who it is
          throw e
        }
      case 'take-over':
        try {
          const lease = leaseManifest({
            holder: ctx.holder,
            durationSeconds,
            now: ctx.now(),
            resourceVersion: verdict.resourceVersion
          })
          await ctx.runner.run(cmd.replaceFromStdin(JSON.stringify(lease)))
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

/** Deletes the Lease only while this run holds it; never throws (it runs in `finally`). */
export async function releaseLock(
  ctx: Pick<StepContext, 'runner' | 'holder' | 'now' | 'log'>
): Promise<void> {
  try {
    const out = (await ctx.runner.run(cmd.getLease())).stdout
    const verdict = leaseVerdict(parseJson(out, 'lease'), ctx.holder, ctx.now())
    if (verdict.action !== 'mine') return
    await ctx.runner.run(cmd.deleteObject('lease', cmd.LOCK_NAME, cmd.LOCK_NAMESPACE))
    ctx.log(`Released the lock (Lease ${cmd.LOCK_NAMESPACE}/${cmd.LOCK_NAME}).`)
  } catch (e) {
    ctx.log(
      `Could not release the lock: ${(e as Error).message}. It expires by itself; or delete it: kubectl -n ${cmd.LOCK_NAMESPACE} delete lease ${cmd.LOCK_NAME}`
    )
  }
}
