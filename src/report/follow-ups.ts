/**
 * What an operator should check after a rollback, with the upstream issue behind each item.
 * Plain markdown strings (links included); the summary escapes them, which keeps links intact.
 */
import type { ProceedDecision } from '../decide/decide.js'
import { hasRkeStateFix, releaseBelow } from '../decide/versions.js'

export const FOLLOW_UP_LINKS = {
  webhookDocsPr: 'https://github.com/rancher/rancher-docs/pull/816',
  webhookIssue: 'https://github.com/rancher/rancher/issues/40816',
  adjustWebhookScript:
    'https://github.com/rancherlabs/support-tools/tree/master/adjust-downstream-webhook',
  fleetAgentIssue: 'https://github.com/rancher/rancher/issues/49428',
  rke2UpdatingIssue: 'https://github.com/rancher/rancher/issues/38474',
  rkeStateAdvisory: 'https://github.com/rancher/rancher/security/advisories/GHSA-6gr4-52w6-vmqx',
  reverseRkeStateScript:
    'https://github.com/rancherlabs/support-tools/tree/master/reverse-rke-state-migrations'
} as const

/**
 * Follow-ups for a rollback that ran (`ok`) or stopped part-way (`!ok`: each item is prefixed, as it
 * applies once the rollback is finished by a re-run or by hand).
 */
export function followUps(
  decision: ProceedDecision,
  ok: boolean,
  /** Downstream RKE1 clusters (clusters.management.cattle.io with an RKE config), by name. */
  rke1Clusters: readonly string[] = [],
  /** The run itself verifies that Rancher reinstalled rancher-webhook (steps/remove-webhook.ts). */
  webhookVerified = false
): string[] {
  const items: string[] = []
  const to = decision.to
  const rollsBack = decision.procedure !== 'restore-only'

  // GHSA-6gr4-52w6-vmqx: Rancher 2.7.14 / 2.8.5 (RKE 1.4.19 / 1.5.10) moved RKE1 cluster state;
  // going back below a patched version needs the migration reversed on those clusters.
  if (rke1Clusters.length > 0 && hasRkeStateFix(decision.from) && !hasRkeStateFix(to)) {
    const shown = rke1Clusters.slice(0, 10).join(', ')
    const more = rke1Clusters.length > 10 ? ` and ${rke1Clusters.length - 10} more` : ''
    items.push(
      `Rolled back from ${decision.from}, which migrated downstream RKE1 cluster state, to ${to}, which predates it: ` +
        `reverse the migration for the RKE1 clusters (${shown}${more}) with the ` +
        `[reverse-rke-state-migrations](${FOLLOW_UP_LINKS.reverseRkeStateScript}) script once Rancher is up ` +
        '(it needs a Rancher API token and `--rancher-host`, and deletes the `full-cluster-state` Secrets it migrated). ' +
        `See [GHSA-6gr4-52w6-vmqx](${FOLLOW_UP_LINKS.rkeStateAdvisory}).`
    )
  }

  if (rollsBack && releaseBelow(to, '2.7.5')) {
    items.push(
      `Rolled back below Rancher 2.7.5: downstream clusters may keep a rancher-webhook newer than Rancher ${to} supports ` +
        `(e.g. project members cannot create namespaces). On each downstream cluster check ` +
        '`helm -n cattle-system list --filter rancher-webhook` (or `kubectl -n cattle-system get deploy rancher-webhook -o ' +
        "jsonpath='{.spec.template.spec.containers[0].image}'`); if it is newer than the webhook Rancher " +
        `${to} ships, run the [adjust-downstream-webhook](${FOLLOW_UP_LINKS.adjustWebhookScript}) script. ` +
        `See [rancher-docs#816](${FOLLOW_UP_LINKS.webhookDocsPr}) and [rancher/rancher#40816](${FOLLOW_UP_LINKS.webhookIssue}).`
    )
  }

  if (decision.procedure === 'in-place' && !webhookVerified) {
    items.push(
      `Check that rancher-webhook on the local cluster followed the rollback: \`helm -n cattle-system history rancher-webhook --max 3\` ` +
        `should show the chart version Rancher ${to} deploys, and \`kubectl -n cattle-system rollout status deploy/rancher-webhook\` ` +
        'should succeed. A webhook left newer than Rancher can deny changes Rancher makes; Rancher reinstalls its own version ' +
        `if you \`helm -n cattle-system uninstall rancher-webhook\`. See [rancher/rancher#40816](${FOLLOW_UP_LINKS.webhookIssue}).`
    )
  }

  if (decision.procedure === 'cleanup-and-reinstall') {
    items.push(
      'Downstream RKE2/K3s clusters may stay "Updating" after the cleanup-and-reinstall: in Cluster Management check each ' +
        'one becomes Active; if one does not, delete its `<cluster-name>-kubeconfig` Secret in `fleet-default` on the local ' +
        `cluster and let Rancher recreate it. See [rancher/rancher#38474](${FOLLOW_UP_LINKS.rke2UpdatingIssue}).`
    )
  }

  items.push(
    'Fleet agents may need a restart after a restore: if bundles do not become Ready or downstream clusters do not come back ' +
      'Active, run `kubectl -n cattle-fleet-local-system rollout restart deploy/fleet-agent` on the local cluster ' +
      '(and the same in `cattle-fleet-system` on an affected downstream cluster). ' +
      `See [rancher/rancher#49428](${FOLLOW_UP_LINKS.fleetAgentIssue}).`
  )

  return ok ? items : items.map(i => `Once the rollback is finished: ${i}`)
}
