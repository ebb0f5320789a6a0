/**
 * Giving the lock back, shared by the release-lock step and the post step (which runs even when
 * main was cancelled or killed before its own release): only a Lease this run holds is deleted.
 */
import { leaseVerdict } from '../decide/lease-verdict.js'
import { parseJson } from '../facts/parsers.js'
import type { Command, CommandRunner } from '../kube/command-runner.js'
import * as cmd from '../kube/commands.js'
import { LOCK_NAME, LOCK_NAMESPACE } from '../kube/names.js'

export const LEASE = `${LOCK_NAMESPACE}/${LOCK_NAME}`

export const releaseCommands = (): { read: Command; remove: Command } => ({
  read: cmd.getLease(),
  remove: cmd.deleteLease()
})

/** One line on what happened; never throws (the Lease expires by itself). */
export async function releaseIfHeld(
  runner: CommandRunner,
  c: { read: Command; remove: Command },
  holder: string,
  now: Date
): Promise<string> {
  try {
    const lease = parseJson((await runner.run(c.read)).stdout, 'lease')
    if (leaseVerdict(lease, holder, now).action !== 'mine')
      return 'not held by this run: left alone'
    await runner.run(c.remove)
    return `released Lease ${LEASE}`
  } catch (e) {
    return `could not release the lock: ${(e as Error).message}. It expires by itself; or delete it: kubectl -n ${LOCK_NAMESPACE} delete lease ${LOCK_NAME}`
  }
}
