/**
 * After the Restore: the operator scales Rancher down, restores, and scales it back to the count it
 * found, with one update and no retry. When Rancher was already at 0, or that update was lost, it
 * stays at 0 (and `kubectl rollout status` passes at 0/0), so the count the target revision asks
 * for is set here.
 */
import { parseDeployment } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { defineStep } from '../step.js'

export const scaleRancher = defineStep({
  id: 'scale-rancher',
  title: ({ settings, rancherReplicas }) =>
    `Make sure deployment ${settings.namespace}/${settings.releaseName} asks for ${rancherReplicas} replicas, as its release does`,
  commands: ({ settings, rancherReplicas }) => ({
    read: cmd.getDeployment(settings.namespace, settings.releaseName),
    scale: cmd.scaleDeployment(settings.namespace, settings.releaseName, rancherReplicas)
  }),
  async run(ctx, c) {
    const d = parseDeployment((await ctx.runner.run(c.read)).stdout)
    const want = ctx.rancherReplicas
    if (d.exists && d.replicas === want) return `already at ${want} replicas`
    await ctx.runner.run(c.scale)
    return `scaled from ${d.replicas} to ${want} replicas`
  }
})
