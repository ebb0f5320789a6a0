/**
 * rancher-webhook, simulated: a real admission webhook registered with the real API server, so a
 * Restore that rancher-webhook would deny is denied here by the API server itself, as in
 * backup-restore-operator#844 (rollback 2.13.0 → 2.12.3: `admission webhook
 * "rancher.cattle.io.clusterroles.rbac.authorization.k8s.io" denied the request: cannot modify or
 * remove label authz.management.cattle.io/gr-owner`).
 *
 * Follows rancher/webhook (mirror at 31c772b, tags v0.4.7, v0.5.0+):
 * - The chart owns the ValidatingWebhookConfiguration and MutatingWebhookConfiguration
 *   `rancher.cattle.io`, empty (charts/rancher-webhook/templates/webhook.yaml); the running
 *   webhook fills in their webhooks (pkg/server/server.go ensureWebhookConfiguration: get, create
 *   when missing, else replace `webhooks`). `helm uninstall rancher-webhook` removes both.
 * - Upstream's dev mode (`CATTLE_WEBHOOK_URL`, server.go) points the configuration at a URL
 *   instead of the `rancher-webhook` Service; the testbed has no Service network, so every
 *   webhook pod registers this loopback HTTPS server (the API server's own certificate and CA).
 * - Webhook defaults (pkg/admission/admission.go NewDefaultValidatingWebhook): name
 *   `rancher.cattle.io.<resource>.<group>`, failurePolicy Fail, matchPolicy Equivalent,
 *   sideEffects None, admissionReviewVersions [v1, v1beta1]; the path is
 *   `/v1/webhook/validation/<resource>.<group>`. The sudo bypass (bypassValidation): the user
 *   `system:serviceaccount:cattle-system:rancher-webhook-sudo` in `system:masters` is allowed.
 * - Validators: only the one the rollback hits, ClusterRoles
 *   (pkg/resources/rbac.authorization.k8s.io/v1/clusterrole/validator.go, added in af2d8bd,
 *   first in v0.5.0 = Rancher 2.9): UPDATE of a ClusterRole carrying
 *   `authz.management.cattle.io/gr-owner` (objectSelector Exists) is denied when it changes or
 *   removes that label (common.IsModifyingLabel: adding is allowed). Webhooks before v0.5.0
 *   register no validator here. Upstream has dozens more validators and mutators; the testbed
 *   models none of them (so it cannot show, e.g., rancher/rancher#51150 or BRO#975).
 * - While no webhook pod runs, the configuration (if still there) points at nothing: the server
 *   answers 503, the API server's call fails and failurePolicy Fail denies, as a Service without
 *   endpoints would (the message differs from upstream's "no endpoints available").
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { ServingTls } from '../cluster/cluster.js'
import { abortableSleep, type Pod, type PodBehaviour } from '../cluster/fake-kubelet.js'
import { KubeApiError, kpath, type KubeApi, type KubeObject } from '../cluster/kube-api.js'
import { compareVersions } from '../services/chart-repo.js'

export const WEBHOOK_CONFIG_NAME = 'rancher.cattle.io'
export const GR_OWNER_LABEL = 'authz.management.cattle.io/gr-owner'
const VALIDATION_PATH = '/v1/webhook/validation'
const BYPASS_USER = 'system:serviceaccount:cattle-system:rancher-webhook-sudo'
const IMAGE_RE = /^(?:[^/@\s]+\/)*rancher\/rancher-webhook:v(\d+\.\d+\.\d+)(?:[-+][\w.-]*)?$/

interface AdmissionRequest {
  uid: string
  operation: string
  userInfo?: { username?: string; groups?: string[] }
  object?: KubeObject
  oldObject?: KubeObject
}

interface Verdict {
  allowed: boolean
  message?: string
}

/** One upstream validator: the resource it watches, and its Admit. */
interface Validator {
  group: string
  version: string
  resource: string
  operations: string[]
  objectSelectorExists?: string
  admit(req: AdmissionRequest): Verdict
}

/** common.IsModifyingLabel: true when the label existed and is removed or changed. */
export function isModifyingLabel(
  oldLabels: Record<string, string> | undefined,
  newLabels: Record<string, string> | undefined,
  label: string
): boolean {
  if (oldLabels?.[label] === undefined) return false
  return newLabels?.[label] !== oldLabels[label]
}

const CLUSTER_ROLES: Validator = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource: 'clusterroles',
  operations: ['UPDATE'],
  objectSelectorExists: GR_OWNER_LABEL,
  admit(req) {
    if (
      isModifyingLabel(req.oldObject?.metadata.labels, req.object?.metadata.labels, GR_OWNER_LABEL)
    )
      return { allowed: false, message: `cannot modify or remove label ${GR_OWNER_LABEL}` }
    return { allowed: true }
  }
}

/** The validators a rancher-webhook version registers (of those the testbed models). */
export function validatorsOf(webhookVersion: string): Validator[] {
  return compareVersions(webhookVersion, '0.5.0') >= 0 ? [CLUSTER_ROLES] : []
}

const subPath = (v: Validator) => `${v.resource}.${v.group}`

/** The loopback HTTPS server every simulated webhook pod serves through. */
export interface WebhookServer {
  /** Base URL, as CATTLE_WEBHOOK_URL would be. */
  url: string
  /** PEM CA of the serving certificate (the configuration's caBundle). */
  ca: string
  /** Admission requests answered, newest last (for tests). */
  readonly decisions: { path: string; name: string; allowed: boolean; message?: string }[]
  /** While a pod runs: its validators answer. Returns the detach function. */
  attach(pod: string, validators: Validator[]): () => void
  stop(): Promise<void>
}

export async function startWebhookServer(tls: ServingTls): Promise<WebhookServer> {
  const attached = new Map<string, Validator[]>()
  const decisions: WebhookServer['decisions'] = []
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      // The API server appends `?timeout=10s`.
      const path = new URL(req.url ?? '/', 'https://webhook').pathname
      const validator = [...attached.values()]
        .flat()
        .find(v => path === `${VALIDATION_PATH}/${subPath(v)}`)
      if (req.method !== 'POST' || validator === undefined) {
        res.writeHead(503, { 'content-type': 'text/plain' })
        res.end('no rancher-webhook pod is running\n')
        return
      }
      let review: { apiVersion?: string; request?: AdmissionRequest }
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof review
      } catch {
        res.writeHead(400)
        res.end()
        return
      }
      const request = review.request
      if (!request) {
        res.writeHead(400)
        res.end()
        return
      }
      const user = request.userInfo
      const bypass =
        user?.username === BYPASS_USER && (user.groups ?? []).includes('system:masters')
      const verdict = bypass ? { allowed: true } : validator.admit(request)
      decisions.push({
        path,
        name: request.object?.metadata.name ?? request.oldObject?.metadata.name ?? '',
        ...verdict
      })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          apiVersion: review.apiVersion ?? 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: request.uid,
            allowed: verdict.allowed,
            ...(verdict.allowed
              ? {}
              : {
                  // admission.ResponseBadRequest
                  status: {
                    status: 'Failure',
                    message: verdict.message,
                    reason: 'BadRequest',
                    code: 400
                  }
                })
          }
        })
      )
    })
  }
  const server: Server = https.createServer({ key: tls.key, cert: tls.cert }, handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}`,
    ca: tls.ca,
    decisions,
    attach(pod, validators) {
      attached.set(pod, validators)
      return () => attached.delete(pod)
    },
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** The rancher-webhook version a pod runs (`0.5.3`), or undefined when it is not one. */
export function webhookVersionOfPod(pod: Pod): string | undefined {
  if (pod.metadata.namespace !== 'cattle-system') return undefined
  if (pod.metadata.labels?.app !== 'rancher-webhook') return undefined
  const image = pod.spec.containers[0]?.image
  return typeof image === 'string' ? IMAGE_RE.exec(image)?.[1] : undefined
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: unknown[]
}

/** What ensureWebhookConfiguration writes: one webhook per validator, pointing at the server. */
export function validatingWebhooks(
  server: Pick<WebhookServer, 'url' | 'ca'>,
  validators: Validator[]
) {
  return validators.map(v => ({
    name: `${WEBHOOK_CONFIG_NAME}.${subPath(v)}`,
    clientConfig: {
      url: `${server.url}${VALIDATION_PATH}/${subPath(v)}`,
      caBundle: Buffer.from(server.ca).toString('base64')
    },
    rules: [
      {
        operations: v.operations,
        apiGroups: [v.group],
        apiVersions: [v.version],
        resources: [v.resource],
        scope: 'Cluster'
      }
    ],
    ...(v.objectSelectorExists
      ? {
          objectSelector: {
            matchExpressions: [{ key: v.objectSelectorExists, operator: 'Exists' }]
          }
        }
      : {}),
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    admissionReviewVersions: ['v1', 'v1beta1']
  }))
}

/** The fake-kubelet behaviour of rancher-webhook's pods. */
export function simulatedWebhook(opts: { api: KubeApi; server: WebhookServer }): PodBehaviour {
  const path = kpath(
    'admissionregistration.k8s.io/v1',
    'validatingwebhookconfigurations',
    undefined,
    WEBHOOK_CONFIG_NAME
  )
  const ensure = async (webhooks: unknown[]) => {
    const current = await opts.api.tryGet<WebhookConfiguration>(path)
    if (!current) {
      await opts.api.create(
        kpath('admissionregistration.k8s.io/v1', 'validatingwebhookconfigurations'),
        {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name: WEBHOOK_CONFIG_NAME },
          webhooks
        }
      )
    } else {
      await opts.api.replace(path, { ...current, webhooks })
    }
  }
  return {
    name: 'rancher-webhook',
    initiallyReady: false,
    matches: pod => webhookVersionOfPod(pod) !== undefined,
    async run(pod, log, signal, ctl) {
      const version = webhookVersionOfPod(pod) ?? '0.0.0'
      const validators = validatorsOf(version)
      const detach = opts.server.attach(pod.metadata.name ?? 'rancher-webhook', validators)
      try {
        log(
          `time="${new Date().toISOString()}" level=info msg="Rancher-webhook version v${version} is starting"`
        )
        // Not Ready until the configuration is in place (upstream's /healthz reports errChecker).
        for (;;) {
          try {
            await ensure(validatingWebhooks(opts.server, validators))
            break
          } catch (e) {
            if (signal.aborted) return 'Failed'
            const text = e instanceof KubeApiError ? e.message : String(e)
            log(
              `time="${new Date().toISOString()}" level=error msg="Failed to ensure configuration: ${text}"`
            )
            await abortableSleep(1000, signal)
          }
        }
        log(`time="${new Date().toISOString()}" level=info msg="Listening on :9443"`)
        await ctl.setReady(true)
        await new Promise<void>(resolve => {
          if (signal.aborted) resolve()
          else signal.addEventListener('abort', () => resolve(), { once: true })
        })
        return 'Failed'
      } finally {
        detach()
      }
    }
  }
}
