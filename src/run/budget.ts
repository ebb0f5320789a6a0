/** The whole-run deadline (`timeout` input), shared by every step. */
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
    const left = this.remaining()
    if (left < 1000) {
      throw new Error(`The run's timeout was reached before ${what}; raise the 'timeout' input.`)
    }
    return Math.min(stepMs, left)
  }
}
