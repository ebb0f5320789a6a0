/**
 * After the Restore, before `helm install`: restored objects the rancher chart renders as release
 * objects, but which carry no Helm ownership metadata, get that of the release being installed.
 * Otherwise Helm refuses the install: `<Kind> "<name>" in namespace "<ns>" exists and cannot be
 * imported into the current release: invalid ownership metadata` (helm pkg/action/validate.go).
 *
 * - `bootstrap-secret`: Rancher 2.6.3+ creates it without Helm metadata when the chart did not
 *   (pkg/data/management/bootstrap_password.go); rancher-backup before 2.1.2 backs it up; the
 *   chart 2.6.0-2.6.4 renders it as a release object once its `lookup` finds it (from 2.6.5 it is
 *   a hook, which Helm deletes and recreates without checking). rancher/rancher#37060, #37003.
 * - the ServiceAccount of the release: restored without metadata when the release was installed
 *   by a Helm before 3.2 (rancher/rancher#29978, rancher/backup-restore-operator#55).
 *
 * Adopting rather than deleting: the restored bootstrap-secret holds the password the admin was
 * created with, which the chart's lookup keeps; deleting it would lose it for good, for no gain.
 * Per object rather than `--take-ownership` (Helm 3.17+): that would also take objects another
 * release owns; an object claimed by another release stops the run here instead.
 */
import { releaseBelow } from '../../decide/versions.js'
import * as cmd from '../../kube/commands.js'
import { BOOTSTRAP_SECRET } from '../../kube/names.js'
import { defineStep, StepFailure, type PlanInput } from '../step.js'

interface Candidate {
  kind: 'secret' | 'serviceaccount'
  name: string
}

/** What the target's chart renders that a Restore may bring back without Helm metadata. */
function candidates({ decision, settings }: PlanInput): Candidate[] {
  const rendersBootstrapSecret =
    !releaseBelow(decision.to, '2.6.0') && releaseBelow(decision.to, '2.6.5')
  return [
    ...(rendersBootstrapSecret ? [{ kind: 'secret' as const, name: BOOTSTRAP_SECRET }] : []),
    // The chart names its ServiceAccount like its Deployment: after the release.
    { kind: 'serviceaccount', name: settings.releaseName }
  ]
}

const show = (c: Candidate) => `${c.kind}/${c.name}`

export const adoptRestored = defineStep({
  id: 'adopt-restored',
  title: input =>
    `Give ${candidates(input).map(show).join(' and ')}, where restored without Helm ownership, that of release ${input.settings.releaseName} (so helm install adopts them)`,
  commands: input => {
    const { releaseName, namespace } = input.settings
    const list = candidates(input)
    return {
      read: list.map(c => cmd.helmOwnership(c.kind, c.name, namespace)),
      adopt: list.map(c => cmd.adoptIntoRelease(c.kind, c.name, namespace, releaseName))
    }
  },
  async run(ctx, c) {
    const { releaseName, namespace } = ctx.settings
    const wanted = ['Helm', releaseName, namespace]
    const done: string[] = []
    for (const [i, candidate] of candidates(ctx).entries()) {
      const [name = '', ...owner] = (await ctx.runner.run(c.read[i]!)).stdout.split('\t')
      if (name.trim() === '') {
        done.push(`${show(candidate)} absent`)
        continue
      }
      const have = wanted.map((_, k) => (owner[k] ?? '').trim())
      if (have.every((v, k) => v === wanted[k])) {
        done.push(`${show(candidate)} already the release's`)
        continue
      }
      // A value set to something else is another release's claim: not ours to overwrite.
      if (have.some((v, k) => v !== '' && v !== wanted[k])) {
        throw new StepFailure(
          `${show(candidate)} in ${namespace} carries the Helm ownership of another release (managed-by '${have[0]}', release '${have[1]}' in '${have[2]}'): helm install of ${releaseName} would refuse it.`,
          `Find out which release owns ${show(candidate)} (kubectl -n ${namespace} get ${candidate.kind} ${candidate.name} -o yaml); if it only came back with the backup, delete it, then re-run.`
        )
      }
      await ctx.runner.run(c.adopt[i]!)
      done.push(`${show(candidate)} adopted into release ${releaseName}`)
    }
    return done.join('; ')
  }
})
