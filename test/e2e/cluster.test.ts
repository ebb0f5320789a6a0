/**
 * Smoke test of the testbed itself: a real control plane, the fake kubelet, real kubectl 1.32,
 * helm 3 and helm 4. Runs under vitest.e2e.config.ts (whose globalSetup prepares the binaries).
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../../testbed/cluster/cluster.js'
import { kpath, type KubeObject } from '../../testbed/cluster/kube-api.js'
import { exec as run } from '../../testbed/exec.js'
import { paths } from '../../testbed/paths.js'

const exec = (bin: string, args: string[], env?: NodeJS.ProcessEnv) => run(bin, args, { env })

describe('testbed cluster', () => {
  let cluster: Cluster
  let work: string
  const kubectl = (...args: string[]) =>
    exec(paths.kubectl, ['--kubeconfig', cluster.kubeconfigPath, ...args])
  const ok = async (...args: string[]) => {
    const r = await kubectl(...args)
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0)
    return r.stdout
  }
  const apply = async (yaml: string) => {
    const f = join(work, `m-${Math.random().toString(36).slice(2)}.yaml`)
    await writeFile(f, yaml)
    return ok('apply', '-f', f)
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'testbed-smoke-'))
    cluster = await startCluster()
    console.log(`testbed cluster start-up: ${cluster.startupMs} ms`)
  })

  afterAll(async () => {
    await cluster?.stop()
    await rm(work, { recursive: true, force: true })
  })

  it('serves kubectl 1.32 with the kubeconfig, and has a Ready node', async () => {
    expect(await ok('get', 'ns')).toMatch(/^default\s+Active/m)
    const nodes = await ok('get', 'nodes', '-o', 'wide')
    expect(nodes).toMatch(/testbed-node\s+Ready/)
    const v = JSON.parse(await ok('version', '-o', 'json')) as {
      serverVersion: { gitVersion: string }
    }
    expect(v.serverVersion.gitVersion).toBe('v1.20.2')
  })

  it('rolls out a 2-replica Deployment and replaces a deleted pod', async () => {
    await ok('create', 'namespace', 'smoke')
    await apply(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: smoke }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: example.invalid/web:1
          readinessProbe: { httpGet: { path: /, port: 80 } }
`)
    await ok('rollout', 'status', 'deployment/web', '-n', 'smoke', '--timeout=120s')
    const pods = (await ok('get', 'pods', '-n', 'smoke', '-l', 'app=web', '-o', 'name'))
      .trim()
      .split('\n')
    expect(pods).toHaveLength(2)
    const victim = pods[0] as string
    await ok('delete', victim, '-n', 'smoke', '--timeout=60s')
    const gone = await kubectl('get', victim, '-n', 'smoke')
    expect(gone.stderr).toMatch(/NotFound/)
    await ok('rollout', 'status', 'deployment/web', '-n', 'smoke', '--timeout=120s')
    const after = (await ok('get', 'pods', '-n', 'smoke', '-l', 'app=web', '-o', 'name')).trim()
    expect(after.split('\n')).toHaveLength(2)
    expect(after).not.toContain(victim)
  })

  it('runs a Job through a behaviour: complete, and kubectl logs shows its lines', async () => {
    cluster.kubelet.registerBehaviour({
      name: 'hello',
      matches: pod => pod.metadata.labels?.['job-name'] === 'hello',
      run: async (_pod, log) => {
        log('hello from the testbed')
        await new Promise(r => setTimeout(r, 200))
        log('second line')
        return 'Succeeded'
      }
    })
    await apply(`
apiVersion: batch/v1
kind: Job
metadata: { name: hello, namespace: smoke }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: main, image: example.invalid/hello:1 }]
`)
    await ok('wait', '--for=condition=complete', 'job/hello', '-n', 'smoke', '--timeout=120s')
    const logs = await ok('logs', 'job/hello', '-n', 'smoke')
    expect(logs).toBe('hello from the testbed\nsecond line\n')
    const byLabel = await ok('logs', '-n', 'smoke', '-l', 'job-name=hello', '--tail=1')
    expect(byLabel).toBe('second line\n')
    const pod = JSON.parse(
      await ok('get', 'pods', '-n', 'smoke', '-l', 'job-name=hello', '-o', 'json')
    ).items[0] as { status: { phase: string; containerStatuses: { state: unknown }[] } }
    expect(pod.status.phase).toBe('Succeeded')
    expect(pod.status.containerStatuses[0]?.state).toMatchObject({
      terminated: { exitCode: 0, reason: 'Completed' }
    })
  })

  it('fails a Job whose behaviour fails', async () => {
    cluster.kubelet.registerBehaviour({
      name: 'boom',
      matches: pod => pod.metadata.labels?.['job-name'] === 'boom',
      run: async (_pod, log) => {
        log('about to fail')
        return { result: 'Failed', exitCode: 3 }
      }
    })
    await apply(`
apiVersion: batch/v1
kind: Job
metadata: { name: boom, namespace: smoke }
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: main, image: example.invalid/boom:1 }]
`)
    await ok('wait', '--for=condition=failed', 'job/boom', '-n', 'smoke', '--timeout=120s')
    const job = await cluster.api.get<KubeObject & { status?: { failed?: number } }>(
      kpath('batch/v1', 'jobs', 'smoke', 'boom')
    )
    expect(job.status?.failed).toBe(1)
    expect(await ok('logs', 'job/boom', '-n', 'smoke')).toBe('about to fail\n')
  })

  it("follows a running Job's logs, and restarts an OnFailure pod in place", async () => {
    cluster.kubelet.registerBehaviour({
      name: 'flaky',
      matches: pod => pod.metadata.labels?.['job-name'] === 'flaky',
      run: async (_pod, log, signal, ctl) => {
        for (let i = 1; i <= 3; i++) {
          log(`run ${ctl.restartCount} step ${i}`)
          await new Promise(r => setTimeout(r, 300))
          if (signal.aborted) return 'Failed'
        }
        return ctl.restartCount === 0 ? 'Failed' : 'Succeeded'
      }
    })
    await apply(`
apiVersion: batch/v1
kind: Job
metadata: { name: flaky, namespace: smoke }
spec:
  backoffLimit: 3
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{ name: main, image: example.invalid/flaky:1 }]
`)
    // Follows the first run until that container ends.
    const followed = await ok('logs', '-f', 'job/flaky', '-n', 'smoke', '--pod-running-timeout=60s')
    expect(followed).toContain('run 0 step 3')
    await ok('wait', '--for=condition=complete', 'job/flaky', '-n', 'smoke', '--timeout=120s')
    expect(await ok('logs', 'job/flaky', '-n', 'smoke')).toBe(
      'run 1 step 1\nrun 1 step 2\nrun 1 step 3\n'
    )
    expect(await ok('logs', 'job/flaky', '-n', 'smoke', '--previous')).toContain('run 0 step 1')
    const restarts = await ok(
      'get',
      'pods',
      '-n',
      'smoke',
      '-l',
      'job-name=flaky',
      '-o',
      'jsonpath={.items[0].status.containerStatuses[0].restartCount}'
    )
    expect(restarts).toBe('1')
  })

  it('runs a long-running behaviour for the pod lifetime and aborts it on deletion', async () => {
    let aborted = false
    cluster.kubelet.registerBehaviour({
      name: 'server',
      matches: pod => pod.metadata.labels?.app === 'server',
      run: async (_pod, log, signal) => {
        log('serving')
        await new Promise<void>(r => signal.addEventListener('abort', () => r(), { once: true }))
        aborted = true
        return 'Succeeded'
      }
    })
    await apply(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: server, namespace: smoke }
spec:
  replicas: 1
  selector: { matchLabels: { app: server } }
  template:
    metadata: { labels: { app: server } }
    spec:
      containers: [{ name: server, image: example.invalid/server:1 }]
`)
    await ok('rollout', 'status', 'deployment/server', '-n', 'smoke', '--timeout=120s')
    expect(await ok('logs', 'deployment/server', '-n', 'smoke')).toBe('serving\n')
    await ok('delete', 'deployment/server', '-n', 'smoke', '--wait', '--timeout=60s')
    await ok('wait', '--for=delete', 'pod', '-l', 'app=server', '-n', 'smoke', '--timeout=60s')
    expect(aborted).toBe(true)
  })

  for (const [label, helm] of [
    ['helm 3', () => paths.helm3],
    ['helm 4', () => paths.helm4]
  ] as const) {
    it(`${label} installs a local chart with --wait`, async () => {
      const chart = join(work, `chart-${label.replace(' ', '')}`)
      await mkdir(join(chart, 'templates'), { recursive: true })
      await writeFile(
        join(chart, 'Chart.yaml'),
        'apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: "1.0"\n'
      )
      await writeFile(
        join(chart, 'templates', 'app.yaml'),
        `apiVersion: v1
kind: ConfigMap
metadata: { name: {{ .Release.Name }}-config }
data: { greeting: hello }
---
apiVersion: v1
kind: Service
metadata: { name: {{ .Release.Name }} }
spec:
  selector: { app: {{ .Release.Name }} }
  # protocol: helm 4 installs with server-side apply, and the 1.20 API server's SSA schema has
  # no default for this list-map key ("element 0 ... omits key field protocol").
  ports: [{ port: 80, protocol: TCP }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: {{ .Release.Name }} }
spec:
  replicas: 2
  selector: { matchLabels: { app: {{ .Release.Name }} } }
  template:
    metadata: { labels: { app: {{ .Release.Name }} } }
    spec:
      containers: [{ name: app, image: example.invalid/tiny:1 }]
`
      )
      const home = join(work, `home-${label.replace(' ', '')}`)
      const env = {
        ...process.env,
        HOME: home,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        KUBECONFIG: cluster.kubeconfigPath
      }
      const ns = `helm-${label.replace(' ', '')}`
      const r = await exec(
        helm(),
        ['install', 'tiny', chart, '-n', ns, '--create-namespace', '--wait', '--timeout', '2m'],
        env
      )
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
      const st = await exec(helm(), ['status', 'tiny', '-n', ns, '-o', 'json'], env)
      expect(JSON.parse(st.stdout).info.status).toBe('deployed')
      expect(
        await ok('get', 'deployment', 'tiny', '-n', ns, '-o', 'jsonpath={.status.readyReplicas}')
      ).toBe('2')
    })
  }

  it('stop() leaves no process and no directory behind', async () => {
    const { processes, dir } = cluster
    expect(processes.map(p => p.name)).toEqual([
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler'
    ])
    await cluster.stop()
    for (const p of processes) {
      expect(() => process.kill(p.pid, 0), `${p.name} (${p.pid}) still alive`).toThrow()
    }
    // No process anywhere still refers to the cluster's directory.
    const leftovers: string[] = []
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
      if (cmd.includes(dir) && !cmd.includes('testbed-watchdog')) leftovers.push(`${pid}: ${cmd}`)
    }
    expect(leftovers).toEqual([])
    await expect(readdir(dir)).rejects.toThrow()
  })
})
