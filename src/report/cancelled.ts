/**
 * What a cancelled run leaves behind and what running it again does, by the step it stopped in.
 * Pure: the report's step records in, two sentences out. Every step is written so that a re-run
 * with the same inputs continues from where this one stopped; this says so in the user's terms.
 */
import type { Procedure } from '../decide/decide.js'
import { SAVED } from '../kube/names.js'
import type { StepRecord } from './run-report.js'

export interface AfterCancel {
  /** The step the run stopped in ('' when it stopped before the first). */
  step: string
  /** The state of the cluster. */
  state: string
  /** What a re-run with the same inputs does. */
  rerun: string
}

/** Cleanup-path steps from which on Rancher is gone and the saved Secret is what holds its values. */
const AFTER_CLEANUP = new Set([
  'cleanup',
  'remove-turtles',
  'verify-cleanup',
  'install-backup-operator',
  'recreate-secrets',
  'restore',
  'adopt-restored',
  'helm-install',
  'verify',
  'forget-saved'
])

export function afterCancel(procedure: Procedure | undefined, steps: StepRecord[]): AfterCancel {
  const stopped =
    steps.find(s => s.status === 'cancelled' || s.status === 'failed') ??
    steps.find(s => s.status === 'not-run')
  const id = stopped?.id ?? ''
  const step = stopped?.title ?? ''
  const started = steps.some(
    s => s.status === 'succeeded' && s.id !== 'lock' && s.id !== 'release-lock'
  )
  if (!started && (id === '' || id === 'lock' || id === 'create-s3-secret')) {
    return {
      step,
      state: 'Nothing in the cluster was changed.',
      rerun: 'Runs again from the start.'
    }
  }
  if (procedure === 'cleanup-and-reinstall') {
    if (!AFTER_CLEANUP.has(id)) {
      return {
        step,
        state: `Rancher was not touched yet; what was saved so far is in Secret ${SAVED}.`,
        rerun:
          'Runs the procedure again: it saves the values and Secrets again before rancher-cleanup.'
      }
    }
    return {
      step,
      state: `rancher-cleanup may have deleted Rancher: Rancher is down. Its values and Secrets are kept in Secret ${SAVED}.`,
      rerun: `Finds ${SAVED} and resumes the reinstall from it (the same target), skipping what is already done.`
    }
  }
  switch (id) {
    case 'remove-webhook':
      return {
        step,
        state:
          'Rancher may be scaled to 0 and rancher-webhook uninstalled; no Restore was created.',
        rerun: 'Stops Rancher and removes the webhook again where needed, then restores.'
      }
    case 'restore':
      return {
        step,
        state:
          'The Restore was created and the backup operator keeps working on it whatever this run does; Rancher is scaled down until it completes.',
        rerun:
          'Finds the Restore: waits for it while the operator is still on it, and does not re-create it once it has completed.'
      }
    case 'helm-rollback':
      return {
        step,
        state:
          'The Restore completed; helm rollback may have been stopped half-way, and the release may show a pending or failed revision.',
        rerun:
          'Skips the completed Restore, sets aside a pending or failed rollback revision, and rolls the release back again.'
      }
    default:
      return {
        step,
        state: 'The Restore and the Helm change are done; Rancher was not verified yet.',
        rerun:
          'Skips what is done (a completed Restore, a release already at the target) and verifies.'
      }
  }
}
