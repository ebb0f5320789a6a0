/** What cleanup.sh prints for confirmation: `kubectl cluster-info`, `kubectl get nodes -o wide`. */
import { kpath } from '../../cluster/kube-api.js'
import type { Kubectl } from './kubectl.js'
import { age, tabwrite } from './output.js'
import { dig, type Obj } from './tables.js'

/** `kubectl cluster-info` as seen from inside a pod (in-cluster config). */
export async function clusterInfo(k: Kubectl): Promise<void> {
  const svc = await k.api.tryGet<Obj>(kpath('v1', 'services', 'default', 'kubernetes'))
  const ip = String(dig(svc, 'spec', 'clusterIP') ?? '10.43.0.1')
  const port = Number(dig(svc, 'spec', 'ports', '0', 'port') ?? 443)
  const server = `https://${ip}:${port}`
  k.out.line(`Kubernetes control plane is running at ${server}`)
  const services = await k.api
    .list<Obj>(kpath('v1', 'services', 'kube-system'), {
      labelSelector: 'kubernetes.io/cluster-service=true'
    })
    .catch(() => ({ items: [] as Obj[] }))
  for (const s of services.items) {
    const name = s.metadata.labels?.['kubernetes.io/name'] ?? s.metadata.name ?? ''
    const p = (dig(s, 'spec', 'ports') ?? []) as { name?: string; port?: number }[]
    const portPart = p[0]?.name ?? String(p[0]?.port ?? '')
    const link = `${server}/api/v1/namespaces/kube-system/services/${s.metadata.name}${portPart ? `:${portPart}` : ''}/proxy`
    k.out.line(`${name} is running at ${link}`)
  }
  k.out.line('')
  k.out.line("To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
}

/** `kubectl get nodes -o wide`. */
export async function nodesWide(k: Kubectl): Promise<string[]> {
  const r = await k.resolveOrFail('nodes')
  const nodes = await k.list(r)
  if (nodes.length === 0) {
    k.err('No resources found')
    return []
  }
  const rows = nodes.map(n => {
    const conds = (dig(n, 'status', 'conditions') ?? []) as { type: string; status: string }[]
    const ready = conds.find(c => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'
    const status = dig(n, 'spec', 'unschedulable') === true ? `${ready},SchedulingDisabled` : ready
    const roles = Object.keys(n.metadata.labels ?? {})
      .filter(l => l.startsWith('node-role.kubernetes.io/'))
      .map(l => l.slice('node-role.kubernetes.io/'.length))
      .sort()
      .join(',')
    const addrs = (dig(n, 'status', 'addresses') ?? []) as { type: string; address: string }[]
    const info = (dig(n, 'status', 'nodeInfo') ?? {}) as Record<string, string>
    return [
      n.metadata.name ?? '',
      status,
      roles || '<none>',
      age(n),
      info.kubeletVersion ?? '',
      addrs.find(a => a.type === 'InternalIP')?.address ?? '<none>',
      addrs.find(a => a.type === 'ExternalIP')?.address ?? '<none>',
      info.osImage ?? '',
      info.kernelVersion ?? '',
      info.containerRuntimeVersion ?? ''
    ]
  })
  return tabwrite([
    [
      'NAME',
      'STATUS',
      'ROLES',
      'AGE',
      'VERSION',
      'INTERNAL-IP',
      'EXTERNAL-IP',
      'OS-IMAGE',
      'KERNEL-VERSION',
      'CONTAINER-RUNTIME'
    ],
    ...rows
  ])
}
