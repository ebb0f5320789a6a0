/**
 * The procedures as lists of step kinds, and the plan: each step's title and the exact commands
 * it may run, as the dry run shows them and as the real run issues them (run/executor.ts).
 */
import { adoptableRestore, createsCredentialSecret, removesWebhook } from '../decide/preflight.js'
import type { Command } from '../kube/command-runner.js'
import {
  commandList,
  CONFIGURED_LIMITS,
  showCommand,
  type CommandSet,
  type Limits,
  type PlanInput,
  type StepId,
  type StepKind
} from './step.js'
import { adoptRestored } from './steps/adopt-restored.js'
import { cleanup } from './steps/cleanup.js'
import { createS3Secret } from './steps/create-s3-secret.js'
import { forgetSaved } from './steps/forget-saved.js'
import { helmInstall } from './steps/helm-install.js'
import { helmRollback } from './steps/helm-rollback.js'
import { installBackupOperator } from './steps/install-backup-operator.js'
import { releaseLock, takeLock } from './steps/lock.js'
import { recreateSecrets } from './steps/recreate-secrets.js'
import { removeWebhook } from './steps/remove-webhook.js'
import { completedEarlier, restore } from './steps/restore.js'
import { leavesTurtles, removeTurtles } from './steps/remove-turtles.js'
import { saveSecrets } from './steps/save-secrets.js'
import { saveValues } from './steps/save-values.js'
import { scaleRancher } from './steps/scale-rancher.js'
import { takeSaved } from './steps/take-saved.js'
import { verifyCleanup } from './steps/verify-cleanup.js'
import { verify } from './steps/verify.js'

export interface PlannedStep {
  id: StepId
  title: string
  /** Printable commands (stdin described, never shown). */
  commands: string[]
  /** Whether any of its commands changes the cluster. */
  mutating: boolean
}

/** The steps of the chosen procedure, in order. */
export function procedureSteps(input: PlanInput): StepKind[] {
  const { decision, facts, settings } = input
  const before = [takeLock, ...(createsCredentialSecret(settings, facts) ? [createS3Secret] : [])]
  // Once this move's Restore has completed, there is nothing left for the webhook to deny.
  const unguarded =
    removesWebhook(decision, settings) && !completedEarlier(input) ? [removeWebhook] : []
  switch (decision.procedure) {
    case 'restore-only':
      return [...before, ...unguarded, restore, scaleRancher, verify, releaseLock]
    case 'in-place':
      return [...before, ...unguarded, restore, helmRollback, scaleRancher, verify, releaseLock]
    case 'cleanup-and-reinstall':
      // Reinstalled by an earlier run that was stopped before the end: verify, forget the state.
      if (decision.reinstalled) {
        return [...before, verify, ...(facts.interrupted ? [forgetSaved] : []), releaseLock]
      }
      return [
        ...before,
        ...(facts.interrupted ? [takeSaved] : [saveValues, saveSecrets]),
        // The interrupted run's Restore is still at work: it was created after cleanup and its
        // verify, which running again would delete what it has restored so far.
        ...(adoptableRestore(decision, facts)
          ? []
          : [cleanup, ...(leavesTurtles(facts) ? [removeTurtles] : []), verifyCleanup]),
        installBackupOperator,
        recreateSecrets,
        restore,
        adoptRestored,
        helmInstall,
        verify,
        forgetSaved,
        releaseLock
      ]
  }
}

/** One step as planned: its commands with these limits, by name and as the printed list. */
export function planStep(
  step: StepKind,
  input: PlanInput,
  limits: Limits
): { planned: PlannedStep; set: CommandSet; commands: Command[] } {
  const set = step.commands(input, limits)
  const commands = commandList(set)
  return {
    planned: {
      id: step.id,
      title: step.title(input),
      commands: commands.map(showCommand),
      mutating: commands.some(c => c.mutating)
    },
    set,
    commands
  }
}

/** The plan a dry run shows: every step with the configured limits. */
export function buildPlan(input: PlanInput): PlannedStep[] {
  return procedureSteps(input).map(step => planStep(step, input, CONFIGURED_LIMITS).planned)
}
