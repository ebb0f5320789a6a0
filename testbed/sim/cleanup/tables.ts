/** Table printers (the API server's Table columns for the kinds the scripts print). */
import type { KubeObject } from '../../cluster/kube-api.js'
import { resourceName, type ApiResource } from './discovery.js'
import { age } from './output.js'

export type Obj = KubeObject & Record<string, unknown>

export function dig(o: unknown, ...keys: string[]): unknown {
  let cur = o
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0)

export function columnsOf(r: ApiResource): string[] {
  switch (resourceName(r)) {
    case 'deployments.apps':
      return ['READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']
    case 'daemonsets.apps':
      return ['DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE']
    case 'configmaps':
      return ['DATA', 'AGE']
    case 'namespaces':
      return ['STATUS', 'AGE']
    case 'clusterrolebindings.rbac.authorization.k8s.io':
      return ['ROLE', 'AGE']
    case 'clusterroles.rbac.authorization.k8s.io':
    case 'customresourcedefinitions.apiextensions.k8s.io':
      return ['CREATED AT']
    case 'mutatingwebhookconfigurations.admissionregistration.k8s.io':
    case 'validatingwebhookconfigurations.admissionregistration.k8s.io':
      return ['WEBHOOKS', 'AGE']
    case 'apiservices.apiregistration.k8s.io':
      return ['SERVICE', 'AVAILABLE', 'AGE']
    case 'podsecuritypolicies.policy':
      return [
        'PRIV',
        'CAPS',
        'SELINUX',
        'RUNASUSER',
        'FSGROUP',
        'SUPGROUP',
        'READONLYROOTFS',
        'VOLUMES'
      ]
    default:
      return ['AGE']
  }
}

export function cellsOf(r: ApiResource, o: Obj): string[] {
  switch (resourceName(r)) {
    case 'deployments.apps':
      return [
        `${num(dig(o, 'status', 'readyReplicas'))}/${num(dig(o, 'spec', 'replicas'))}`,
        String(num(dig(o, 'status', 'updatedReplicas'))),
        String(num(dig(o, 'status', 'availableReplicas'))),
        age(o)
      ]
    case 'daemonsets.apps': {
      const sel = (dig(o, 'spec', 'template', 'spec', 'nodeSelector') ?? {}) as Record<
        string,
        string
      >
      const selText =
        Object.keys(sel)
          .sort()
          .map(k => `${k}=${sel[k]}`)
          .join(',') || '<none>'
      return [
        String(num(dig(o, 'status', 'desiredNumberScheduled'))),
        String(num(dig(o, 'status', 'currentNumberScheduled'))),
        String(num(dig(o, 'status', 'numberReady'))),
        String(num(dig(o, 'status', 'updatedNumberScheduled'))),
        String(num(dig(o, 'status', 'numberAvailable'))),
        selText,
        age(o)
      ]
    }
    case 'configmaps':
      return [
        String(
          Object.keys((o.data ?? {}) as object).length +
            Object.keys((o.binaryData ?? {}) as object).length
        ),
        age(o)
      ]
    case 'namespaces':
      return [String(dig(o, 'status', 'phase') ?? ''), age(o)]
    case 'clusterrolebindings.rbac.authorization.k8s.io':
      return [`${String(dig(o, 'roleRef', 'kind'))}/${String(dig(o, 'roleRef', 'name'))}`, age(o)]
    case 'clusterroles.rbac.authorization.k8s.io':
    case 'customresourcedefinitions.apiextensions.k8s.io':
      return [o.metadata.creationTimestamp ?? '']
    case 'mutatingwebhookconfigurations.admissionregistration.k8s.io':
    case 'validatingwebhookconfigurations.admissionregistration.k8s.io':
      return [String(((o.webhooks ?? []) as unknown[]).length), age(o)]
    case 'apiservices.apiregistration.k8s.io': {
      const svc = dig(o, 'spec', 'service') as { namespace?: string; name?: string } | undefined
      const conds = (dig(o, 'status', 'conditions') ?? []) as {
        type: string
        status: string
        reason?: string
      }[]
      const a = conds.find(c => c.type === 'Available')
      const avail = !a
        ? 'Unknown'
        : a.status === 'True'
          ? 'True'
          : `${a.status} (${a.reason ?? ''})`
      return [svc ? `${svc.namespace}/${svc.name}` : 'Local', avail, age(o)]
    }
    case 'podsecuritypolicies.policy': {
      const s = (o.spec ?? {}) as Record<string, unknown>
      const rule = (k: string) => String(dig(s, k, 'rule') ?? '')
      return [
        String(s.privileged === true),
        ((s.allowedCapabilities ?? []) as string[]).join(','),
        rule('seLinux'),
        rule('runAsUser'),
        rule('fsGroup'),
        rule('supplementalGroups'),
        String(s.readOnlyRootFilesystem === true),
        ((s.volumes ?? []) as string[]).join(',')
      ]
    }
    default:
      return [age(o)]
  }
}
