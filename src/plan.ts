/** The ordered steps of a procedure, as data: what a dry run shows and what main.ts executes. */

export interface PlannedStep {
  id: string
  title: string
  /** Redacted, printable commands this step will run (may be templated, e.g. <revision>). */
  commands: string[]
  mutating: boolean
}
