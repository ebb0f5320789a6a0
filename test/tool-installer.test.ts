import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  ChecksumMismatchError,
  installTools,
  type ToolRequest
} from '../src/tools/tool-installer.js'

const run = promisify(execFile)
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

const HELM_V = 'v3.99.1'
const KUBECTL_V = 'v1.99.2'

/** path → body; anything else is a 404. */
const routes = new Map<string, Buffer | string>()
const requests: string[] = []
let server: http.Server
let base = ''
let scratch = ''

function makeHelmTarball(platformDir: string, version: string): Buffer {
  const src = fs.mkdtempSync(path.join(scratch, 'helm-src-'))
  fs.mkdirSync(path.join(src, platformDir))
  const bin = path.join(src, platformDir, 'helm')
  fs.writeFileSync(bin, `#!/bin/sh\necho "version.BuildInfo{Version:\\"${version}\\"}"\n`)
  fs.chmodSync(bin, 0o755)
  fs.writeFileSync(path.join(src, platformDir, 'LICENSE'), 'test\n')
  const out = path.join(src, 'helm.tar.gz')
  execFileSync('tar', ['-czf', out, '-C', src, platformDir])
  return fs.readFileSync(out)
}

function serveHelm(version: string, osArch: string, tarball: Buffer): void {
  const name = `helm-${version}-${osArch}.tar.gz`
  routes.set(`/helm/${name}`, tarball)
  routes.set(`/helm/${name}.sha256sum`, `${sha(tarball)}  ${name}\n`)
}

function serveKubectl(version: string, osArch: string, body: string): void {
  const p = `/k8s/release/${version}/bin/${osArch}/kubectl`
  routes.set(p, body)
  routes.set(`${p}.sha256`, sha(body))
}

function request(overrides: Partial<ToolRequest> = {}): ToolRequest {
  return {
    helmVersion: HELM_V,
    kubectlVersion: KUBECTL_V,
    helmMirror: `${base}/helm`,
    kubectlMirror: `${base}/k8s`,
    binDir: fs.mkdtempSync(path.join(scratch, 'bin-')),
    ...overrides
  }
}

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tool-installer-test-'))
  server = http.createServer((req, res) => {
    const url = req.url ?? ''
    requests.push(url)
    const body = routes.get(url)
    if (body === undefined) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const kubectlScript = (v: string): string =>
    `#!/bin/sh\necho "Client Version: ${v}"\n# padding ${'x'.repeat(2000)}\n`
  serveHelm(HELM_V, 'linux-amd64', makeHelmTarball('linux-amd64', HELM_V))
  serveHelm(HELM_V, 'linux-arm64', makeHelmTarball('linux-arm64', HELM_V))
  serveHelm('v4.1.4', 'linux-amd64', makeHelmTarball('linux-amd64', 'v4.1.4'))
  serveKubectl(KUBECTL_V, 'linux/amd64', kubectlScript(KUBECTL_V))
  serveKubectl(KUBECTL_V, 'linux/arm64', kubectlScript(KUBECTL_V))
  serveKubectl('v1.33.1', 'linux/amd64', kubectlScript('v1.33.1'))
  routes.set('/helm/helm-latest-version', 'v4.1.4\n')
  routes.set('/k8s/release/stable.txt', 'v1.33.1')
})

afterAll(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()))
  fs.rmSync(scratch, { recursive: true, force: true })
})

let toolCache = ''
beforeEach(() => {
  // tool-cache reads RUNNER_TOOL_CACHE / RUNNER_TEMP on every call, not at import time.
  toolCache = fs.mkdtempSync(path.join(scratch, 'cache-'))
  process.env['RUNNER_TOOL_CACHE'] = toolCache
  process.env['RUNNER_TEMP'] = fs.mkdtempSync(path.join(scratch, 'temp-'))
  requests.length = 0
})

const linux = { platform: 'linux', arch: 'x64' }

describe('installTools', () => {
  it('installs from a mirror, and a second install makes no HTTP request', async () => {
    const lines: string[] = []
    const tools = await installTools(request(), l => lines.push(l), linux)

    expect(tools.helmVersion).toBe(HELM_V)
    expect(tools.kubectlVersion).toBe(KUBECTL_V)
    expect(path.isAbsolute(tools.helmPath)).toBe(true)
    // run from this job's own copy; the cache holds the one the next job starts from
    expect(path.dirname(tools.helmPath)).toBe(path.dirname(tools.kubectlPath))
    expect(fs.existsSync(path.join(toolCache, 'helm', '3.99.1', 'amd64', 'helm'))).toBe(true)
    expect(fs.existsSync(path.join(toolCache, 'kubectl', '1.99.2', 'amd64', 'kubectl'))).toBe(true)
    expect((await run(tools.helmPath, ['version'])).stdout).toContain(HELM_V)
    expect((await run(tools.kubectlPath, ['version', '--client'])).stdout).toContain(KUBECTL_V)
    expect(fs.statSync(tools.kubectlPath).mode & 0o777).toBe(0o755)
    expect([...requests].sort()).toEqual([
      `/helm/helm-${HELM_V}-linux-amd64.tar.gz`,
      `/helm/helm-${HELM_V}-linux-amd64.tar.gz.sha256sum`,
      `/k8s/release/${KUBECTL_V}/bin/linux/amd64/kubectl`,
      `/k8s/release/${KUBECTL_V}/bin/linux/amd64/kubectl.sha256`
    ])
    // temp downloads are cleaned up
    expect(fs.readdirSync(process.env['RUNNER_TEMP'] ?? '')).toEqual([])

    requests.length = 0
    const again = await installTools(request(), l => lines.push(l), linux)
    expect(requests).toEqual([])
    expect(again.helmVersion).toBe(tools.helmVersion)
    expect((await run(again.helmPath, ['version'])).stdout).toContain(HELM_V)
    expect(lines).toContain(`helm ${HELM_V} found in the tool cache`)
  })

  it('runs private copies, so concurrent jobs sharing a tool cache never rewrite a running binary', async () => {
    const binA = path.join(scratch, `bin-a-${Date.now()}`)
    const binB = path.join(scratch, `bin-b-${Date.now()}`)
    const [a, b] = await Promise.all([
      installTools(request({ binDir: binA }), () => {}, linux),
      installTools(request({ binDir: binB }), () => {}, linux)
    ])
    expect(a.helmPath).toBe(path.join(binA, 'helm'))
    expect(b.kubectlPath).toBe(path.join(binB, 'kubectl'))
    for (const t of [a, b]) {
      expect((await run(t.helmPath, ['version'])).stdout).toContain(HELM_V)
      expect((await run(t.kubectlPath, ['version', '--client'])).stdout).toContain(KUBECTL_V)
    }
    // a later job takes the cache as it is: nothing downloaded, the cached file left untouched
    const cachedHelm = path.join(toolCache, 'helm', '3.99.1', 'amd64', 'helm')
    const before = fs.statSync(cachedHelm).mtimeMs
    requests.length = 0
    const c = await installTools(request(), () => {}, linux)
    expect(requests).toEqual([])
    expect(fs.statSync(cachedHelm).mtimeMs).toBe(before)
    expect(fs.statSync(c.helmPath).mode & 0o777).toBe(0o755)
  })

  it('leaves a cache folder another job is still filling alone, and runs its own verified copy', async () => {
    // Another job has renamed its staged folder in but not yet written `.complete`.
    const folder = path.join(toolCache, 'helm', '3.99.1', 'amd64')
    fs.mkdirSync(folder, { recursive: true })
    fs.writeFileSync(path.join(folder, 'helm'), 'being written by another job')
    const lines: string[] = []
    const tools = await installTools(request(), l => lines.push(l), linux)
    expect((await run(tools.helmPath, ['version'])).stdout).toContain(HELM_V)
    expect(fs.readFileSync(path.join(folder, 'helm'), 'utf8')).toBe('being written by another job')
    expect(
      lines.some(l => /^helm v3\.99\.1 verified .*; already cached by another job$/.test(l))
    ).toBe(true)
    // nothing staged is left behind
    expect(fs.readdirSync(path.dirname(folder)).sort()).toEqual(['amd64'])
  })

  it('refuses a tampered archive, showing both digests, and caches nothing', async () => {
    const name = `helm-${HELM_V}-linux-amd64.tar.gz`
    const good = routes.get(`/helm/${name}`) as Buffer
    const tampered = Buffer.concat([good, Buffer.from('evil')])
    routes.set(`/helm/${name}`, tampered)
    try {
      const err = await installTools(request(), () => {}, linux).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ChecksumMismatchError)
      const e = err as ChecksumMismatchError
      expect(e.expected).toBe(sha(good))
      expect(e.actual).toBe(sha(tampered))
      expect(e.message).toContain(sha(good))
      expect(e.message).toContain(sha(tampered))
      expect(e.message).toContain(`${base}/helm/${name}`)
      expect(fs.existsSync(path.join(toolCache, 'helm'))).toBe(false)
    } finally {
      routes.set(`/helm/${name}`, good)
    }
  })

  it('accepts an upper-case digest in the checksum file', async () => {
    const p = `/k8s/release/${KUBECTL_V}/bin/linux/amd64/kubectl.sha256`
    const orig = routes.get(p) as string
    routes.set(p, orig.toUpperCase())
    try {
      const tools = await installTools(request(), () => {}, linux)
      expect(tools.kubectlVersion).toBe(KUBECTL_V)
    } finally {
      routes.set(p, orig)
    }
  })

  it('resolves latest through the version files and logs the choice', async () => {
    const lines: string[] = []
    const tools = await installTools(
      request({ helmVersion: 'latest', kubectlVersion: 'latest' }),
      l => lines.push(l),
      linux
    )
    expect(tools.helmVersion).toBe('v4.1.4')
    expect(tools.kubectlVersion).toBe('v1.33.1')
    expect(lines).toContain('helm latest resolved to v4.1.4')
    expect(lines).toContain('kubectl latest resolved to v1.33.1')
    expect(requests).toContain('/helm/helm-latest-version')
    expect(requests).toContain('/k8s/release/stable.txt')
    expect((await run(tools.helmPath, ['version'])).stdout).toContain('v4.1.4')
  })

  it('fails clearly when the latest lookup fails, naming the URL', async () => {
    const err = await installTools(
      request({ helmVersion: 'latest', helmMirror: `${base}/nowhere` }),
      () => {},
      linux
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    const msg = (err as Error).message
    expect(msg).toContain(`${base}/nowhere/helm-latest-version`)
    expect(msg).toMatch(/Pin helm-version/)
    expect(msg).toContain('404')
  })

  it('fails clearly when the version file holds garbage', async () => {
    routes.set('/k8s/release/stable.txt', '<html>oops</html>')
    try {
      const err = await installTools(request({ kubectlVersion: 'latest' }), () => {}, linux).catch(
        (e: unknown) => e
      )
      expect((err as Error).message).toMatch(
        new RegExp(`${base}/k8s/release/stable\\.txt.*vX\\.Y\\.Z.*Pin kubectl-version`)
      )
    } finally {
      routes.set('/k8s/release/stable.txt', 'v1.33.1')
    }
  })

  it('downloads arm64 builds on arm64 runners', async () => {
    const tools = await installTools(request(), () => {}, { platform: 'linux', arch: 'arm64' })
    expect([...requests].sort()).toEqual([
      `/helm/helm-${HELM_V}-linux-arm64.tar.gz`,
      `/helm/helm-${HELM_V}-linux-arm64.tar.gz.sha256sum`,
      `/k8s/release/${KUBECTL_V}/bin/linux/arm64/kubectl`,
      `/k8s/release/${KUBECTL_V}/bin/linux/arm64/kubectl.sha256`
    ])
    expect(fs.existsSync(path.join(toolCache, 'helm', '3.99.1', 'arm64', 'helm'))).toBe(true)
    expect(fs.existsSync(tools.helmPath)).toBe(true)
  })

  it('names the missing file when a download fails', async () => {
    const err = await installTools(request({ kubectlVersion: 'v1.0.0' }), () => {}, linux).catch(
      (e: unknown) => e
    )
    expect((err as Error).message).toContain(`${base}/k8s/release/v1.0.0/bin/linux/amd64/kubectl`)
  })

  it('rejects Windows and unsupported architectures before any download', async () => {
    await expect(
      installTools(request(), () => {}, { platform: 'win32', arch: 'x64' })
    ).rejects.toThrow(/Linux and macOS runners/)
    await expect(
      installTools(request(), () => {}, { platform: 'linux', arch: 'ia32' })
    ).rejects.toThrow(/ia32/)
    expect(requests).toEqual([])
  })
})
