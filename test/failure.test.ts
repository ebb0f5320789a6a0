import { describe, expect, it } from 'vitest'
import { Refusal } from '../src/decide/choose.js'
import { InputError } from '../src/inputs/input-helper.js'
import { endedByCancel, failure } from '../src/report/failure.js'
import { StepFailure } from '../src/run/step.js'

describe('how a run that threw ends (both actions)', () => {
  it.each([
    [
      new Refusal('No backup of this cluster.', 'Take one first.'),
      {
        status: 'refused',
        nextStep: 'Take one first.',
        line: 'No backup of this cluster.\nInstead: Take one first.'
      }
    ],
    [
      new StepFailure('Verification failed.', 'Check the pods.'),
      {
        status: 'failed',
        nextStep: 'Check the pods.',
        line: 'Verification failed.\nNext: Check the pods.'
      }
    ],
    [
      new InputError(["Input 'timeout' is 'x'"]),
      {
        status: 'failed',
        nextStep: 'Fix the inputs named above; nothing was run.',
        line: "Input 'timeout' is 'x'\nNext: Fix the inputs named above; nothing was run."
      }
    ],
    [new Error('boom'), { status: 'failed', nextStep: '', line: 'boom' }]
  ])('%s', (e, expected) => {
    expect(failure(e)).toMatchObject({ error: e.message, ...expected })
  })

  it('is a cancel only once the signal came, and never for a refusal or a bad input', () => {
    const quiet = new AbortController().signal
    const cancelled = AbortSignal.abort()
    expect(endedByCancel(new Error('killed'), quiet)).toBe(false)
    expect(endedByCancel(new Error('killed'), cancelled)).toBe(true)
    expect(endedByCancel(new Refusal('r', 'i'), cancelled)).toBe(false)
    expect(endedByCancel(new InputError(['p']), cancelled)).toBe(false)
  })
})
