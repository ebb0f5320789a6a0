/**
 * How a run that threw ends, for both actions: cancelled (the signal came, and the error is not a
 * refusal or a bad input that would have stopped it anyway), refused (a rule said no, with what to
 * do instead), or failed (with the next step when the error knows it); and the line to print.
 */
import { Refusal } from '../decide/choose.js'
import { InputError } from '../inputs/input-helper.js'
import { StepFailure } from '../run/step.js'

export function endedByCancel(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted && !(e instanceof Refusal) && !(e instanceof InputError)
}

export function failure(e: unknown): {
  status: 'refused' | 'failed'
  error: string
  nextStep: string
  /** The `::error::` text: the error, then what to do. */
  line: string
} {
  const error = e instanceof Error ? e.message : String(e)
  if (e instanceof Refusal) {
    return {
      status: 'refused',
      error,
      nextStep: e.instead,
      line: `${error}\nInstead: ${e.instead}`
    }
  }
  const nextStep =
    e instanceof StepFailure
      ? e.nextStep
      : e instanceof InputError
        ? 'Fix the inputs named above; nothing was run.'
        : ''
  return {
    status: 'failed',
    error,
    nextStep,
    line: nextStep ? `${error}\nNext: ${nextStep}` : error
  }
}
