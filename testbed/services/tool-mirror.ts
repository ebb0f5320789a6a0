/**
 * A local download mirror for helm and kubectl, laid out exactly like the upstream sites, so the
 * action's real download → SHA-256 check → tool-cache path runs with its `helm-mirror` /
 * `kubectl-mirror` inputs pointed here (see src/tools/tool-urls.ts):
 *
 *   <helmUrl>/helm-<v>-<os>-<arch>.tar.gz            gzip tar holding <os>-<arch>/helm (0755)
 *   <helmUrl>/helm-<v>-<os>-<arch>.tar.gz.sha256sum  "<hex>  helm-<v>-<os>-<arch>.tar.gz"
 *   <helmUrl>/helm-latest-version                    "v3.17.2"
 *   <kubectlUrl>/release/<v>/bin/<os>/<arch>/kubectl          the binary
 *   <kubectlUrl>/release/<v>/bin/<os>/<arch>/kubectl.sha256   bare hex
 *   <kubectlUrl>/release/stable.txt                           "v1.32.3"
 *
 * Helm archives are built once (tar CLI) into a cache directory keyed by the binary's hash.
 * Tampering: a tampered version is served as a different but well-formed artefact (the binary
 * with bytes appended, re-archived for helm) while the checksum file still carries the digest of
 * the genuine one: exactly "bytes changed after the checksum was published".
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'

const execFileP = promisify(execFile)
const gzipP = promisify(gzip)

export type MirrorOs = 'linux' | 'darwin'
export type MirrorArch = 'amd64' | 'arm64'
export type MirrorTool = 'helm' | 'kubectl'

export interface ToolBinary {
  /** `vX.Y.Z` */
  version: string
  /** Path of the real binary to serve. */
  path: string
  /** Default linux. */
  os?: MirrorOs
  /** Default amd64. */
  arch?: MirrorArch
}

export interface ToolMirrorOptions {
  helm?: ToolBinary[]
  kubectl?: ToolBinary[]
  /** Content of `helm-latest-version` (default: the highest helm version given). */
  latestHelm?: string
  /** Content of `release/stable.txt` (default: the highest kubectl version given). */
  latestKubectl?: string
  /** Versions served tampered from the start (see `setTamper`). */
  tamper?: { helm?: string[]; kubectl?: string[] }
  /** Where archives are built (default `$TMPDIR/rancher-rollback-testbed-mirror`). */
  cacheDir?: string
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number
}

export interface ServedArtifact {
  /** URL path, e.g. `/get.helm.sh/helm-v3.17.2-linux-amd64.tar.gz`. */
  path: string
  /** The genuine file (what the checksum describes). */
  file: string
  /** SHA-256 hex of the genuine file, as published in the checksum file. */
  sha256: string
}

export interface ToolMirror {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** Base URL replacing https://get.helm.sh (the action's helm mirror input). */
  helmUrl: string
  /** Base URL replacing https://dl.k8s.io (the action's kubectl mirror input). */
  kubectlUrl: string
  /** URL paths requested (GET and HEAD), in order, e.g. to prove tool-cache hits. */
  requests: string[]
  /** Serves `version` of `tool` tampered (true) or genuine (false) from now on. */
  setTamper(tool: MirrorTool, version: string, on?: boolean, os?: MirrorOs, arch?: MirrorArch): void
  /** What is served for a version (throws when the version is not served). */
  artifact(tool: MirrorTool, version: string, os?: MirrorOs, arch?: MirrorArch): ServedArtifact
  stop(): Promise<void>
}

export const HELM_PREFIX = '/get.helm.sh'
export const KUBECTL_PREFIX = '/dl.k8s.io'

/** Appended to a binary to tamper with it: still a runnable ELF, another SHA-256. */
const TAMPER_SUFFIX = Buffer.from('\n# tampered by the rancher-rollback testbed mirror\n')

interface Entry {
  tool: MirrorTool
  version: string
  os: MirrorOs
  arch: MirrorArch
  /** URL path of the artefact. */
  path: string
  file: string
  tamperedFile: string
  /** Builds `tamperedFile` (once, on first use). */
  buildTampered: () => Promise<void>
  sha256: string
  tampered: boolean
}

function once(f: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined
  return () => (p ??= f())
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch {
    return false
  }
}

function semverKey(v: string): number[] {
  return v
    .replace(/^v/, '')
    .split(/[.-]/)
    .slice(0, 3)
    .map(n => Number(n) || 0)
}

function highest(versions: string[]): string | undefined {
  return [...versions].sort((a, b) => {
    const x = semverKey(a)
    const y = semverKey(b)
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
    return 0
  })[versions.length - 1]
}

/** Writes `file` atomically from a builder that writes to a temporary sibling. */
async function buildOnce(file: string, build: (tmp: string) => Promise<void>): Promise<void> {
  if (await exists(file)) return
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
  try {
    await build(tmp)
    await rename(tmp, file)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

/** A helm release archive: `<os>-<arch>/helm` (0755) plus LICENSE and README.md, like upstream. */
async function buildHelmArchive(
  binary: string,
  os: MirrorOs,
  arch: MirrorArch,
  out: string,
  suffix?: Buffer
): Promise<void> {
  await buildOnce(out, async tmp => {
    const stage = `${tmp}.d`
    try {
      const sub = join(stage, `${os}-${arch}`)
      await mkdir(sub, { recursive: true })
      const bin = join(sub, 'helm')
      if (suffix) await writeFile(bin, Buffer.concat([await readFile(binary), suffix]))
      else await copyFile(binary, bin)
      await chmod(bin, 0o755)
      await writeFile(join(sub, 'LICENSE'), 'Apache License 2.0 (served by the testbed mirror)\n')
      await writeFile(join(sub, 'README.md'), '# Helm (served by the testbed mirror)\n')
      // Deterministic bytes (fixed owner, mtime, order; gzip header without time), so that
      // concurrent builders of the same archive produce the same file.
      const tarFile = `${tmp}.tar`
      await execFileP('tar', [
        '-cf',
        tarFile,
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '--mtime=@0',
        '--sort=name',
        '-C',
        stage,
        `${os}-${arch}`
      ])
      await writeFile(tmp, await gzipP(await readFile(tarFile)))
    } finally {
      await rm(stage, { recursive: true, force: true })
      await rm(`${tmp}.tar`, { force: true })
    }
  })
}

async function prepareEntry(tool: MirrorTool, b: ToolBinary, cacheDir: string): Promise<Entry> {
  const os = b.os ?? 'linux'
  const arch = b.arch ?? 'amd64'
  if (!/^v\d+\.\d+\.\d+/.test(b.version)) throw new Error(`mirror: bad version '${b.version}'`)
  const binHash = await sha256File(b.path)
  const key = `${tool}-${b.version}-${os}-${arch}-${binHash.slice(0, 16)}`
  if (tool === 'helm') {
    const file = join(cacheDir, `${key}.tar.gz`)
    const tamperedFile = join(cacheDir, `${key}.tampered.tar.gz`)
    await buildHelmArchive(b.path, os, arch, file)
    return {
      tool,
      version: b.version,
      os,
      arch,
      path: `${HELM_PREFIX}/helm-${b.version}-${os}-${arch}.tar.gz`,
      file,
      tamperedFile,
      buildTampered: once(() => buildHelmArchive(b.path, os, arch, tamperedFile, TAMPER_SUFFIX)),
      sha256: await sha256File(file),
      tampered: false
    }
  }
  const tamperedFile = join(cacheDir, `${key}.tampered`)
  return {
    tool,
    version: b.version,
    os,
    arch,
    path: `${KUBECTL_PREFIX}/release/${b.version}/bin/${os}/${arch}/kubectl`,
    file: b.path,
    tamperedFile,
    buildTampered: once(() =>
      buildOnce(tamperedFile, async tmp => {
        await writeFile(tmp, Buffer.concat([await readFile(b.path), TAMPER_SUFFIX]))
        await chmod(tmp, 0o755)
      })
    ),
    sha256: binHash,
    tampered: false
  }
}

/** Starts the mirror on 127.0.0.1. */
export async function startToolMirror(opts: ToolMirrorOptions = {}): Promise<ToolMirror> {
  const cacheDir = opts.cacheDir ?? join(tmpdir(), 'rancher-rollback-testbed-mirror')
  await mkdir(cacheDir, { recursive: true })
  const entries = await Promise.all([
    ...(opts.helm ?? []).map(b => prepareEntry('helm', b, cacheDir)),
    ...(opts.kubectl ?? []).map(b => prepareEntry('kubectl', b, cacheDir))
  ])
  const byPath = new Map<string, Entry>()
  for (const e of entries) byPath.set(e.path, e)

  const find = (tool: MirrorTool, version: string, os: MirrorOs, arch: MirrorArch): Entry => {
    const e = entries.find(
      x => x.tool === tool && x.version === version && x.os === os && x.arch === arch
    )
    if (!e) throw new Error(`mirror: ${tool} ${version} ${os}/${arch} is not served`)
    return e
  }
  for (const v of opts.tamper?.helm ?? []) find('helm', v, 'linux', 'amd64').tampered = true
  for (const v of opts.tamper?.kubectl ?? []) find('kubectl', v, 'linux', 'amd64').tampered = true

  const latestHelm =
    opts.latestHelm ?? highest(entries.filter(e => e.tool === 'helm').map(e => e.version))
  const latestKubectl =
    opts.latestKubectl ?? highest(entries.filter(e => e.tool === 'kubectl').map(e => e.version))

  const requests: string[] = []

  const sendText = (res: http.ServerResponse, head: boolean, status: number, text: string) => {
    const body = Buffer.from(text)
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.length)
    })
    res.end(head ? undefined : body)
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://mirror').pathname)
    requests.push(path)
    const head = req.method === 'HEAD'
    if (req.method !== 'GET' && !head) {
      sendText(res, head, 405, 'Method Not Allowed\n')
      return
    }
    if (path === `${HELM_PREFIX}/helm-latest-version` && latestHelm) {
      sendText(res, head, 200, `${latestHelm}\n`)
      return
    }
    if (path === `${KUBECTL_PREFIX}/release/stable.txt` && latestKubectl) {
      sendText(res, head, 200, latestKubectl)
      return
    }
    const artefact = byPath.get(path)
    if (artefact) {
      const tampered = artefact.tampered
      if (tampered) await artefact.buildTampered()
      const file = tampered ? artefact.tamperedFile : artefact.file
      const size = (await stat(file)).size
      res.writeHead(200, {
        'content-type': artefact.tool === 'helm' ? 'application/x-tar' : 'application/octet-stream',
        'content-length': String(size)
      })
      if (head) {
        res.end()
        return
      }
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res)
      return
    }
    const sumOf = path.endsWith('.sha256sum')
      ? byPath.get(path.slice(0, -'.sha256sum'.length))
      : path.endsWith('.sha256')
        ? byPath.get(path.slice(0, -'.sha256'.length))
        : undefined
    if (sumOf?.tool === 'helm' && path.endsWith('.sha256sum')) {
      sendText(res, head, 200, `${sumOf.sha256}  ${sumOf.path.split('/').pop() ?? ''}\n`)
      return
    }
    if (sumOf?.tool === 'kubectl' && path.endsWith('.sha256')) {
      sendText(res, head, 200, sumOf.sha256)
      return
    }
    sendText(res, head, 404, 'Not Found\n')
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    helmUrl: `${url}${HELM_PREFIX}`,
    kubectlUrl: `${url}${KUBECTL_PREFIX}`,
    requests,
    setTamper(tool, version, on = true, os = 'linux', arch = 'amd64') {
      find(tool, version, os, arch).tampered = on
    },
    artifact(tool, version, os = 'linux', arch = 'amd64') {
      const e = find(tool, version, os, arch)
      return { path: e.path, file: e.file, sha256: e.sha256 }
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
