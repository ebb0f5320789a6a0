/**
 * The rancher/rancher-cleanup image, simulated: a fake-kubelet behaviour for the pods of
 * `deploy/rancher-cleanup.yaml` (`cleanup-job`, args `["force"]`) and `deploy/verify.yaml`
 * (`verify-job`, command `["verify.sh"]`), image `rancher/rancher-cleanup:<tag>`.
 *
 * Both scripts are replayed step by step, in the real scripts' order, as the kubectl calls they
 * make, through the real API server (so every consequence is the real one: the API server's own
 * answers, errors and timing). The container log is what the real container prints: what that
 * is, script by script, is told in cleanup-script.ts (cleanup.sh) and verify-script.ts
 * (verify.sh). Both run on shell.ts (xtrace and the scripts' functions) and kubectl.ts (kubectl,
 * emulated through the API), with discovery.ts, tables.ts, cluster-info.ts and output.ts.
 */
import type { BehaviourOutcome, Pod, PodBehaviour } from '../../cluster/fake-kubelet.js'
import type { KubeApi } from '../../cluster/kube-api.js'
import { cleanupScript } from './cleanup-script.js'
import { Kubectl } from './kubectl.js'
import { Output } from './output.js'
import { verifyScript } from './verify-script.js'

/**
 * The one release whose scripts are simulated, and what `latest` (or a bare digest) is taken to
 * be: the latest full release. v1.0.4 exists only as rc1 and rc2, and prereleases are pushed as
 * `<tag>-amd64` alone (`.drone.yml` of v1.0.4-rc1, step docker-publish-prerelease).
 */
export const SIMULATED_RELEASE = 'v1.0.3'

/** `rancher/rancher-cleanup[:tag][@digest]`, optionally behind a registry/mirror prefix. */
const IMAGE_RE =
  /^(?:[^/@\s]+\/)*rancher\/rancher-cleanup(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:[0-9a-f]{64})?$/

export type CleanupScript = 'cleanup' | 'verify'

/**
 * Which script a pod runs, or undefined when it is not a rancher-cleanup container: the image is
 * `rancher/rancher-cleanup`, and the command is the image's entrypoint (`cleanup.sh`, no command)
 * or `verify.sh`.
 */
export function cleanupScriptOf(pod: Pod): CleanupScript | undefined {
  const c = pod.spec.containers[0]
  if (!c || typeof c.image !== 'string' || !IMAGE_RE.test(c.image)) return undefined
  const command = Array.isArray(c.command) ? (c.command as unknown[]).map(String) : []
  const exe = command[0]
  if (exe === undefined) return 'cleanup'
  if (/^(?:\/usr\/local\/bin\/)?verify\.sh$/.test(exe)) return 'verify'
  if (/^(?:\/usr\/local\/bin\/)?cleanup\.sh$/.test(exe)) return 'cleanup'
  return undefined
}

/** The SCRIPT_VERSION the image's scripts print (the image tag; `latest` → the latest release). */
export function scriptVersionOf(image: string): string {
  const tag = IMAGE_RE.exec(image)?.[1]
  return !tag || tag === 'latest' ? SIMULATED_RELEASE : tag
}

export interface SimulatedCleanupOptions {
  api: KubeApi
  /**
   * kubectl's `--timeout` in cleanup.sh's deletes (default 20, as upstream; `timeout` kills the
   * try one second later). Lower it to speed tests up; every existing namespace costs one.
   */
  deleteTimeoutSeconds?: number
}

/** The fake-kubelet behaviour of rancher-cleanup pods (cleanup.sh and verify.sh). */
export function simulatedCleanup(opts: SimulatedCleanupOptions): PodBehaviour {
  return {
    name: 'rancher-cleanup',
    matches: pod => cleanupScriptOf(pod) !== undefined,
    async run(pod, log, signal): Promise<BehaviourOutcome> {
      const script = cleanupScriptOf(pod) ?? 'cleanup'
      const container = pod.spec.containers[0]
      const image = String(container?.image ?? '')
      const version = scriptVersionOf(image)
      // Other releases behave otherwise (v1.0.0-v1.0.2 have no PSP guard at all): rather than
      // print their version over v1.0.3's behaviour, the pod fails, saying why.
      if (version !== SIMULATED_RELEASE) {
        log(`testbed: rancher-cleanup ${version} is not simulated, only ${SIMULATED_RELEASE}`)
        return { result: 'Failed', exitCode: 1 }
      }
      const out = new Output(log)
      const k = new Kubectl(opts.api, out, signal, {
        namespace: pod.metadata.namespace ?? 'default',
        serviceAccount: pod.spec.serviceAccountName ?? 'default'
      })
      let code = 0
      try {
        if (script === 'verify') {
          await verifyScript(k, version)
        } else {
          const args = Array.isArray(container?.args)
            ? (container.args as unknown[]).map(String)
            : []
          code = await cleanupScript(k, version, args, {
            deleteTimeoutSeconds: opts.deleteTimeoutSeconds ?? 20
          })
        }
      } catch (e) {
        if (signal.aborted) return 'Failed'
        throw e
      } finally {
        out.end()
      }
      return code === 0 ? 'Succeeded' : { result: 'Failed', exitCode: code }
    }
  }
}

/**
 * What verify.sh prints against the cluster now, as one string (stdout and stderr in order, as
 * `kubectl logs` shows them). The behaviour logs exactly this, line by line.
 */
export async function verifyOutput(
  api: KubeApi,
  opts: { signal?: AbortSignal } = {}
): Promise<string> {
  const lines: string[] = []
  const out = new Output(line => lines.push(line))
  const k = new Kubectl(api, out, opts.signal ?? new AbortController().signal)
  await verifyScript(k, SIMULATED_RELEASE)
  // The last type list has no trailing newline.
  return out.end() ? lines.join('\n') : lines.map(l => `${l}\n`).join('')
}
