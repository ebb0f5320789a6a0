/**
 * The action's outputs (action.yml `outputs:`), as one pure function of the run report.
 * Every key is always present; '' means unknown. Nothing here may be secret: an output holding a
 * masked value is dropped by the runner.
 */
import type { RunReport } from './run-report.js'

export const OUTPUT_NAMES = [
  'procedure',
  'from-version',
  'to-version',
  'helm-revision',
  'restore-name',
  'status',
  'plan',
  'values-file'
] as const

export type OutputName = (typeof OUTPUT_NAMES)[number]

/** One step of the `plan` output (JSON array). */
export interface PlanOutputStep {
  id: string
  title: string
  commands: string[]
  mutating: boolean
}

export function buildOutputs(report: RunReport): Record<OutputName, string> {
  const d = report.decision
  const plan: PlanOutputStep[] = report.plan.map(s => ({
    id: s.id,
    title: s.title,
    commands: [...s.commands],
    mutating: s.mutating
  }))
  return {
    procedure: d?.kind === 'proceed' ? d.procedure : '',
    'from-version': d?.from ?? '',
    'to-version': d?.to ?? '',
    'helm-revision': report.helmRevision === undefined ? '' : String(report.helmRevision),
    'restore-name': report.restoreName,
    status: report.status,
    plan: JSON.stringify(plan),
    'values-file': report.valuesFile
  }
}
