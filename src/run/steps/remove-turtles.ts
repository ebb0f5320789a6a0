/**
 * What rancher-cleanup v1.0.3 leaves of a Rancher v2.13+ install. cleanup.sh (v1.0.3, l.103-105,
 * l.113-146) knows neither cattle-turtles-system nor cattle-capi-system, and deletes webhook
 * configurations only by `cattle.io` in the name or the exact embedded-CAPI names, so the Turtles
 * and CAPI controllers keep running after their CRDs are gone, and capi-validating- /
 * capi-mutating-webhook-configuration (failurePolicy Fail) stay registered: once their service is
 * gone every CAPI object the Restore brings back is refused. The target's reinstall must find the
 * cluster as a fresh one, so they go, as Turtles' own uninstall removes them (rancher/turtles
 * charts/rancher-turtles/templates/post-delete-job.yaml deletes the two webhook configurations and
 * capi-controller-manager) and as Rancher removes a disabled Turtles (namespace included;
 * rancher/rancher systemcharts/controller.go, RemoveNamespace). Before verify-cleanup, which would
 * otherwise report the webhook configurations (verify.sh greps for the embedded names unanchored).
 */
import * as cmd from '../../kube/commands.js'
import {
  CAPI_CORE_NAMESPACE,
  CAPI_WEBHOOK_CONFIGURATIONS,
  TURTLES_NAMESPACE
} from '../../kube/names.js'
import type { ClusterFacts } from '../../facts/cluster-facts.js'
import { defineStep, StepFailure } from '../step.js'

const NAMESPACES = [TURTLES_NAMESPACE, CAPI_CORE_NAMESPACE] as const
const NAMESPACE_WAIT_MS = 5 * 60_000

/** Planned when the cluster shows Rancher v2.13+'s namespaces (before cleanup, or left by it). */
export function leavesTurtles(facts: ClusterFacts): boolean {
  return facts.capi.turtlesNamespaces.length > 0
}

export const removeTurtles = defineStep({
  id: 'remove-turtles',
  title: () =>
    `Delete what rancher-cleanup v1.0.3 leaves of Rancher v2.13+: namespaces ${NAMESPACES.join(', ')} and the CAPI webhook configurations`,
  commands: (_input, limits) => ({
    // The controllers first: nothing is left to serve or re-create the webhook configurations.
    namespaces: {
      ...cmd.deleteNamespaces(
        NAMESPACES,
        limits.limit(NAMESPACE_WAIT_MS, `namespaces ${NAMESPACES.join(', ')} deleted`)
      ),
      // Judged below, with what to do next.
      allowFailure: true
    },
    webhooks: Object.entries(CAPI_WEBHOOK_CONFIGURATIONS).map(([kind, name]) =>
      cmd.deleteObject(kind, name)
    )
  }),
  async run(ctx, c) {
    const deleted = await ctx.runner.run(c.namespaces)
    if (deleted.exitCode !== 0) {
      throw new StepFailure(
        `Namespaces ${NAMESPACES.join(', ')} were not deleted: ${deleted.stderr.trim()}`,
        `Look at what holds them (kubectl get namespace ${NAMESPACES.join(' ')} -o yaml), then re-run this action: it resumes from the saved state.`
      )
    }
    for (const w of c.webhooks) await ctx.runner.run(w)
    return `deleted namespaces ${NAMESPACES.join(', ')} and webhook configurations ${Object.values(CAPI_WEBHOOK_CONFIGURATIONS).join(', ')}`
  }
})
