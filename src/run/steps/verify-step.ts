/** The result as the cluster shows it: the Deployment rolled out on the target image, Helm agreeing. */
import { parseDeployment, parseHelmHistory } from '../../facts/parsers.js'
import * as cmd from '../../kube/commands.js'
import { StepFailure, type StepContext } from './step-context.js'

export async function verify(ctx: StepContext): Promise<string> {
  const { settings, decision } = ctx
  const limit = ctx.budget.limit(settings.timeoutMs, 'verifying the rollout')
  const [rollout, deployment, history] = await Promise.all([
    ctx.runner.run({
      ...cmd.rolloutStatus(settings.namespace, settings.releaseName, limit),
      allowFailure: true
    }),
    ctx.runner.run(cmd.getDeployment(settings.namespace, settings.releaseName)),
    ctx.runner.run(cmd.helmHistory(settings.releaseName, settings.namespace))
  ])
  const revisions = parseHelmHistory(history.exitCode === 0 ? history.stdout : '[]')
  ctx.report.historyAfter = revisions
  const newest = revisions[revisions.length - 1]
  ctx.report.helmRevision = newest?.revision

  const problems: string[] = []
  const d = parseDeployment(deployment.stdout)
  if (!d.exists)
    problems.push(`deployment ${settings.namespace}/${settings.releaseName} does not exist`)
  else if (d.imageVersion && d.imageVersion !== decision.to) {
    problems.push(`deployment runs ${d.image}, not v${decision.to}`)
  }
  if (rollout.exitCode !== 0) {
    problems.push(`rollout did not finish: ${rollout.stderr.trim().split('\n').pop() ?? ''}`)
  }
  if (!newest || newest.appVersion !== decision.to || newest.status !== 'deployed') {
    problems.push(
      `helm shows ${newest ? `revision ${newest.revision} ${newest.appVersion} ${newest.status}` : 'no release'}, not ${decision.to} deployed`
    )
  }
  if (problems.length > 0) {
    throw new StepFailure(
      `Verification failed: ${problems.join('; ')}.`,
      `Check: kubectl -n ${settings.namespace} get deploy ${settings.releaseName} -o wide; helm history ${settings.releaseName} -n ${settings.namespace}`
    )
  }
  const image = d.imageVersion ? d.image : `${d.image} (tag not a version: not compared)`
  return `${image} rolled out (${d.readyReplicas}/${d.replicas} ready); helm revision ${newest?.revision} deployed`
}
