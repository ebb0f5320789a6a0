/**
 * Creates the Restore and waits for the operator to finish it. The operator never marks a Restore
 * failed (it retries an error forever), so the wait has its own deadline, and a timeout reports
 * the Restore's conditions and the operator's log.
 */
import { interpretRestore } from '../../facts/restore-status.js'
import { parseJson } from '../../facts/parsers.js'
import { CommandError, isAlreadyExists, type Command } from '../../kube/command-runner.js'
import { asObject, asString } from '../../facts/json-fields.js'
import { operatorLockVerdict } from '../../decide/operator-lock.js'
import { CancelledError } from '../cancellation.js'
import * as cmd from '../../kube/commands.js'
import { restoreManifest } from '../../kube/manifests.js'
import {
  BACKUP_NAMESPACE,
  OPERATOR_LOCK_LEASE,
  OPERATOR_LOG_SELECTOR,
  RESTORE_CRD,
  restoreLabels,
  restorePrefix
} from '../../kube/names.js'
import { adoptableRestore, removesWebhook } from '../../decide/preflight.js'
import { defineStep, StepFailure, type PlanInput, type StepContext } from '../step.js'

/** Enough to reach back past a retry's whole pass to the error that caused it. */
const OPERATOR_LOG_LINES = 1000

/**
 * After cleanup there is nothing to prune and pruning would fight the freshly installed operator:
 * the migration procedure the docs prescribe restores with prune: false.
 */
function restorePrune({ decision, settings }: PlanInput): boolean {
  return decision.procedure === 'cleanup-and-reinstall' ? false : settings.prune
}

/** The operator logs through logrus with ForceColors: its lines carry ANSI colour codes. */
export function operatorLogLines(text: string, tail = SHOWN_LOG_LINES): string[] {
  // eslint-disable-next-line no-control-regex
  const ansi = /\x1b\[[0-9;]*[A-Za-z]/g
  const lines = text
    .split('\n')
    .map(line => line.replace(ansi, '').trimEnd())
    .filter(line => line.trim() !== '')
  // A retrying Restore logs a whole pass of INFO lines after its error: the error that explains it
  // (e.g. an admission webhook's denial) would fall out of the tail.
  const shown = lines.slice(-tail)
  const earlier = new Map<string, string>()
  for (const line of lines.slice(0, -tail)) {
    if (!ERROR_LINE.test(line)) continue
    const key = line.replace(TIMESTAMP, '')
    earlier.delete(key)
    earlier.set(key, line)
  }
  const errors = [...earlier.values()].slice(-EARLIER_ERRORS)
  return errors.length > 0 ? [...errors, '…', ...shown] : shown
}

const SHOWN_LOG_LINES = 40
const EARLIER_ERRORS = 5
/** logrus text (`ERRO[2006/01/02 15:04:05]`, after kubectl's `--prefix`) or logfmt. */
const ERROR_LINE = /(?:^|\] )(?:ERRO|FATA)\[|level=(?:error|fatal)/
const TIMESTAMP = /\[\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\]|time="[^"]*"|^\[pod\/[^\]]*\] /g

/**
 * A Restore an earlier run of the same move completed from the same backup. Never on the cleanup
 * path: a run there restores either after running rancher-cleanup itself (which deletes every
 * cattle.io CRD, the Restores with them, and all that they restored) or on a Restore still in
 * flight that it adopts; what an earlier run's Restore put back is gone either way.
 */
export function completedEarlier({ decision, facts }: PlanInput) {
  if (decision.procedure === 'cleanup-and-reinstall') return undefined
  return facts.restores.find(
    r =>
      r.completed &&
      r.backupFilename === facts.backup.filename &&
      r.name.startsWith(restorePrefix(decision.from, decision.to))
  )
}

/** The Restore this run waits on: an earlier run's still in flight, or the one it creates. */
function restoreTarget(input: PlanInput): { name: string; adopted: boolean } {
  const adopted = adoptableRestore(input.decision, input.facts)
  return adopted
    ? { name: adopted.name, adopted: true }
    : { name: input.restoreName, adopted: false }
}

export const restore = defineStep({
  id: 'restore',
  title: input => {
    const { name, adopted } = restoreTarget(input)
    const backup = input.facts.backup.filename || '(backup)'
    return adopted
      ? `Adopt Restore ${name} of ${backup}, which an earlier run of this move created and the operator is still working on, and wait for Ready=True "Completed" (no new Restore)`
      : `Restore ${backup} with Restore ${name} (prune: ${restorePrune(input)}) and wait for Ready=True "Completed"`
  },
  commands: (input, limits) => {
    const { name, adopted } = restoreTarget(input)
    const manifest = restoreManifest({
      name,
      backupFilename: input.facts.backup.filename,
      s3: input.settings.s3,
      prune: restorePrune(input),
      encryptionConfigSecretName: input.settings.encryptionConfigSecretName,
      labels: restoreLabels(input.decision.from, input.decision.to)
    })
    return {
      ...(adopted
        ? {}
        : {
            create: cmd.createRestore(
              `Restore ${name} of ${input.facts.backup.filename} (prune: ${restorePrune(input)})`,
              JSON.stringify(manifest)
            )
          }),
      wait: cmd.waitRestoreReady(
        name,
        limits.limit(input.settings.restoreTimeoutMs, 'the Restore finished')
      ),
      read: cmd.getRestore(name),
      operatorLog: cmd.operatorLogs(OPERATOR_LOG_LINES),
      // Only if the operator jams on its own lock after an API server outage (operator-lock.ts).
      operatorLock: cmd.getOperatorLock(),
      releaseOperatorLock: cmd.replaceOperatorLock(
        `Lease ${BACKUP_NAMESPACE}/${OPERATOR_LOCK_LEASE} with its holder cleared, as the operator's own failed unlock would have left it`
      )
    }
  },
  async run(ctx, c, limits) {
    const { name, adopted } = restoreTarget(ctx)
    const done = adopted ? undefined : completedEarlier(ctx)
    if (done) {
      ctx.report.restoreName = done.name
      ctx.report.restoreConditions = done.conditions
      return `Restore ${done.name} of ${done.backupFilename} already Completed by an earlier run: not re-created`
    }

    ctx.report.restoreName = name
    if (c.create !== undefined) {
      try {
        await ctx.runner.run(c.create)
      } catch (e) {
        // A create retried after a transient error may already have gone through: the name is ours.
        if (!isAlreadyExists(e)) throw e
      }
    }
    const waitS = Math.round(limits.limit(ctx.settings.restoreTimeoutMs, 'the Restore') / 1000)
    const released: string[] = []
    await ctx.group(
      `Waiting for Restore ${name}${adopted ? ' (adopted from an earlier run)' : ''} (up to ${waitS}s)`,
      async () => {
        // However the wait ends (condition met, its own timeout, or cut short by the runner after
        // an API server outage), the Restore read next is the verdict.
        const waiting = ctx.runner.run(c.wait).then(
          () => undefined,
          e => ignoreTimeout(e)
        )
        await Promise.all([waiting, watchOperatorLock(ctx, c, name, waiting, released)])
      }
    )
    const status = interpretRestore(parseJson((await ctx.runner.run(c.read)).stdout, 'restore'))
    ctx.report.restoreConditions = status.conditions
    if (status.state === 'completed') {
      const unjammed =
        released.length > 0
          ? ` (after this run released the operator's own lock, which its failed unlock had left held during an API server outage: ${released.join('; ')})`
          : ''
      return adopted
        ? `adopted Restore ${name}, created by an earlier run of this move: Completed${unjammed}`
        : `Restore ${name} Completed${unjammed}`
    }

    ctx.report.operatorLog = operatorLogLines((await ctx.runner.run(c.operatorLog)).stdout)
    const state =
      status.state === 'error'
        ? `the operator reports an error and keeps retrying: ${status.message}`
        : 'the operator has not finished it'
    const denied = deniedBy([status.message, ...ctx.report.operatorLog])
    const admission = denied
      ? ` Admission webhook "${denied}" denied restored objects` +
        (ctx.settings.keepRancherWebhook && denied.startsWith('rancher.cattle.io')
          ? ' (backup-restore-operator#844): rancher-webhook stayed running because keep-rancher-webhook is true; delete the Restore and run again without it.'
          : '.')
      : ''
    throw new StepFailure(
      `Restore ${name}${adopted ? ' (adopted from an earlier run)' : ''} did not complete within ${waitS}s: ${state}.${admission}`,
      `Read the operator log (kubectl -n ${BACKUP_NAMESPACE} logs -l ${OPERATOR_LOG_SELECTOR}), fix the cause, delete the Restore (kubectl delete ${RESTORE_CRD} ${name}) and re-run. Rancher may be scaled to 0 until a Restore completes${removesWebhook(ctx.decision, ctx.settings) ? '; rancher-webhook is uninstalled until Rancher runs again and reinstalls it' : ''}.`
    )
  }
})

/** How often the wait looks at the operator's lock: rarely next to lasso's 2-minute requeue. */
const OPERATOR_LOCK_PROBE_MS = 20_000

/**
 * While the Restore wait runs: frees the operator's lock when it has jammed on this Restore
 * (operator-lock.ts), so the operator's next pass can finish it. Reads are cheap and rare; a probe
 * that fails (the API server away again) waits for the next one.
 */
async function watchOperatorLock(
  ctx: StepContext,
  c: { read: Command; operatorLock: Command; operatorLog: Command; releaseOperatorLock: Command },
  name: string,
  waiting: Promise<unknown>,
  released: string[]
): Promise<void> {
  let done = false
  // The probe's sleep ends with the wait: a timer left running would hold the process up to 20 s.
  const ended = new AbortController()
  const settle = (): void => {
    done = true
    ended.abort()
  }
  void waiting.then(settle, settle)
  const stop = AbortSignal.any([ctx.signal, ended.signal])
  for (;;) {
    await sleep(OPERATOR_LOCK_PROBE_MS, stop)
    if (done || ctx.signal.aborted) return
    try {
      const lease = parseJson((await ctx.runner.run(c.operatorLock)).stdout, 'lease')
      if (lease === undefined) continue
      const restore = asObject(parseJson((await ctx.runner.run(c.read)).stdout, 'restore'))
      const uid = asString(asObject(restore.metadata).uid)
      const holder = asString(asObject(asObject(lease).spec).holderIdentity)
      if (holder !== `${name}:${uid}`) continue
      const log = (await ctx.runner.run(c.operatorLog)).stdout
      const verdict = operatorLockVerdict(lease, { name, uid }, log)
      if (verdict.action !== 'release' || done) continue
      await ctx.runner.run({ ...c.releaseOperatorLock, stdin: JSON.stringify(verdict.unlocked) })
      ctx.log(
        `The backup operator was stuck on its own lock (${verdict.evidence}): its unlock had failed while the API server was away. Released it, as that unlock would have.`
      )
      released.push(verdict.evidence)
    } catch (e) {
      if (e instanceof CancelledError) return
      ctx.log(
        `Could not look at the operator's lock (${(e as Error).message.split('\n')[0]}); trying again in ${OPERATOR_LOCK_PROBE_MS / 1000}s.`
      )
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const t = setTimeout(done, ms)
    function done(): void {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    if (signal.aborted) done()
    else signal.addEventListener('abort', done, { once: true })
  })
}

function ignoreTimeout(e: unknown): undefined {
  if (e instanceof CommandError && e.timedOut) return undefined
  throw e
}

/** The admission webhook that refused a restored object, from the operator's messages. */
export function deniedBy(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const m = /admission webhook \\?"([^"\\]+)\\?" denied the request/.exec(line)
    if (m) return m[1]
  }
  return undefined
}
