/** The whole-run deadline (`timeout` input), shared by every step. */
import type { Limits } from './step.js'

function limitWithin(stepMs: number, left: number, what: string): number {
  if (left < 1000) {
    throw new Error(`The run's timeout was reached before ${what}; raise the 'timeout' input.`)
  }
  return Math.min(stepMs, left)
}

export class Budget {
  constructor(
    readonly deadline: number,
    private readonly now: () => number = Date.now
  ) {}

  remaining(): number {
    return Math.max(0, this.deadline - this.now())
  }

  /** A step's own limit, never past the run's deadline; throws once the deadline has passed. */
  limit(stepMs: number, what: string): number {
    return limitWithin(stepMs, this.remaining(), what)
  }

  /** The limits as they stand now, fixed: a step plans and runs with the same values. */
  at(): Limits {
    const left = this.remaining()
    return { limit: (stepMs, what) => limitWithin(stepMs, left, what) }
  }
}
