/**
 * Keeps a lock alive while the run is, as Kubernetes leader election does: one renewal every
 * `everyMs`, each scheduled once the one before has finished, so a slow API server never stacks
 * them up. What a renewal does is the caller's (lock.ts); this module only decides when, and when
 * to stop: on `stop()`, when `signal` aborts, or once a renewal finds the lock is not ours any more.
 */

export type RenewalOutcome = { renewed: true } | { renewed: false; why: string }

/** Runs `fn` after `ms`; returns what cancels it. */
export type Schedule = (fn: () => void, ms: number) => () => void

export interface RenewerOptions {
  /** One renewal; a throw is a failure worth another try at the next tick. */
  renew: () => Promise<RenewalOutcome>
  everyMs: number
  signal: AbortSignal
  log: (line: string) => void
  warn: (line: string) => void
  schedule?: Schedule
}

export interface Renewer {
  /** No renewal starts after this; resolves once the one under way (if any) has ended. */
  stop(): Promise<void>
}

/** An unref'd timer: a renewal left scheduled never keeps the process alive. */
const realSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms)
  timer.unref()
  return () => clearTimeout(timer)
}

export function startRenewer(o: RenewerOptions): Renewer {
  const schedule = o.schedule ?? realSchedule
  let stopped = false
  let cancel: (() => void) | undefined
  let underWay: Promise<void> = Promise.resolve()

  const stop = (): Promise<void> => {
    stopped = true
    cancel?.()
    cancel = undefined
    o.signal.removeEventListener('abort', onAbort)
    return underWay
  }
  const onAbort = (): void => void stop()

  const next = (): void => {
    if (stopped) return
    cancel = schedule(() => {
      cancel = undefined
      underWay = tick()
    }, o.everyMs)
  }

  const tick = async (): Promise<void> => {
    if (stopped) return
    try {
      const outcome = await o.renew()
      if (!outcome.renewed) {
        stopped = true
        o.warn(
          `This run no longer holds the lock: ${outcome.why}. Another rollback may now change the cluster at the same time as this one; this run goes on, without renewing the lock. Check that run before trusting either result.`
        )
        return
      }
    } catch (e) {
      o.log(
        `Could not renew the lock (${(e as Error).message.split('\n')[0]}); trying again in ${Math.round(o.everyMs / 1000)}s.`
      )
    }
    next()
  }

  if (o.signal.aborted) stopped = true
  else {
    o.signal.addEventListener('abort', onAbort)
    next()
  }
  return { stop }
}
