/**
 * Installs helm and kubectl: resolves 'latest', looks in the runner tool cache, otherwise downloads
 * from upstream or a mirror, verifies SHA-256 and caches. Paths are returned, PATH is not touched.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import {
  cacheVersion,
  helmArchiveDir,
  helmArchiveName,
  helmLatestUrl,
  helmUrls,
  kubectlLatestUrl,
  kubectlUrls,
  normalizeRequestedVersion,
  parseChecksumFile,
  parseVersionFile,
  toolPlatform,
  type ToolPlatform
} from './tool-urls.js'

export interface ToolRequest {
  /** 'latest' or 'vX.Y.Z' */
  helmVersion: string
  kubectlVersion: string
  /** '' (upstream) or a base URL replacing https://get.helm.sh / https://dl.k8s.io */
  helmMirror: string
  kubectlMirror: string
}

export interface InstalledTools {
  helmPath: string
  kubectlPath: string
  helmVersion: string
  kubectlVersion: string
}

/** Injectable for tests; defaults to process.platform / process.arch. */
export interface InstallOptions {
  platform?: string
  arch?: string
}

export class ChecksumMismatchError extends Error {
  readonly expected: string
  readonly actual: string
  readonly url: string

  constructor(url: string, expected: string, actual: string) {
    super(
      `SHA-256 checksum mismatch for ${url}: expected ${expected}, got ${actual}. ` +
        'The download was refused and nothing was cached.'
    )
    this.name = 'ChecksumMismatchError'
    this.url = url
    this.expected = expected
    this.actual = actual
  }
}

type Log = (line: string) => void

export async function installTools(
  req: ToolRequest,
  log: Log = line => core.info(line),
  options: InstallOptions = {}
): Promise<InstalledTools> {
  const p = toolPlatform(options.platform ?? process.platform, options.arch ?? process.arch)
  const [helm, kubectl] = await Promise.all([
    installHelm(req.helmVersion, req.helmMirror, p, log),
    installKubectl(req.kubectlVersion, req.kubectlMirror, p, log)
  ])
  return {
    helmPath: helm.path,
    kubectlPath: kubectl.path,
    helmVersion: helm.version,
    kubectlVersion: kubectl.version
  }
}

interface Installed {
  path: string
  version: string
}

async function installHelm(
  requested: string,
  mirror: string,
  p: ToolPlatform,
  log: Log
): Promise<Installed> {
  const version = await resolveVersion('helm', requested, helmLatestUrl(mirror), log)
  const key = cacheVersion(version)

  const cached = tc.find('helm', key, p.arch)
  if (cached && (await isFile(path.join(cached, 'helm')))) {
    log(`helm ${version} found in the tool cache`)
    return { path: path.resolve(cached, 'helm'), version }
  }

  const urls = helmUrls(version, p, mirror)
  log(`Downloading helm ${version} from ${urls.archive}`)
  const temps: string[] = []
  try {
    const [archive, checksumFile] = await Promise.all([
      download(urls.archive, temps),
      download(urls.checksum, temps)
    ])
    const expected = parseChecksumFile(
      await fs.readFile(checksumFile, 'utf8'),
      helmArchiveName(version, p)
    )
    await verify(urls.archive, archive, expected)

    const extracted = await tc.extractTar(archive)
    temps.push(extracted)
    const binDir = path.join(extracted, helmArchiveDir(p))
    if (!(await isFile(path.join(binDir, 'helm')))) {
      throw new Error(`${urls.archive} does not contain ${helmArchiveDir(p)}/helm`)
    }
    await fs.chmod(path.join(binDir, 'helm'), 0o755)
    const dir = await tc.cacheDir(binDir, 'helm', key, p.arch)
    log(`helm ${version} verified (sha256 ${expected}) and cached`)
    return { path: path.resolve(dir, 'helm'), version }
  } finally {
    await cleanup(temps)
  }
}

async function installKubectl(
  requested: string,
  mirror: string,
  p: ToolPlatform,
  log: Log
): Promise<Installed> {
  const version = await resolveVersion('kubectl', requested, kubectlLatestUrl(mirror), log)
  const key = cacheVersion(version)

  const cached = tc.find('kubectl', key, p.arch)
  if (cached && (await isFile(path.join(cached, 'kubectl')))) {
    log(`kubectl ${version} found in the tool cache`)
    return { path: path.resolve(cached, 'kubectl'), version }
  }

  const urls = kubectlUrls(version, p, mirror)
  log(`Downloading kubectl ${version} from ${urls.binary}`)
  const temps: string[] = []
  try {
    const [binary, checksumFile] = await Promise.all([
      download(urls.binary, temps),
      download(urls.checksum, temps)
    ])
    const expected = parseChecksumFile(await fs.readFile(checksumFile, 'utf8'), 'kubectl')
    await verify(urls.binary, binary, expected)

    await fs.chmod(binary, 0o755)
    const dir = await tc.cacheFile(binary, 'kubectl', 'kubectl', key, p.arch)
    const kubectlPath = path.resolve(dir, 'kubectl')
    await fs.chmod(kubectlPath, 0o755)
    log(`kubectl ${version} verified (sha256 ${expected}) and cached`)
    return { path: kubectlPath, version }
  } finally {
    await cleanup(temps)
  }
}

async function resolveVersion(
  tool: string,
  requested: string,
  latestUrl: string,
  log: Log
): Promise<string> {
  const v = normalizeRequestedVersion(tool, requested)
  if (v !== 'latest') return v
  const temps: string[] = []
  try {
    const file = await download(latestUrl, temps)
    const resolved = parseVersionFile(await fs.readFile(file, 'utf8'))
    log(`${tool} latest resolved to ${resolved}`)
    return resolved
  } catch (err) {
    throw new Error(
      `Could not resolve the latest ${tool} version from ${latestUrl}: ${message(err)}. ` +
        `Pin ${tool}-version to an explicit version (e.g. v1.2.3) to skip this lookup.`,
      { cause: err }
    )
  } finally {
    await cleanup(temps)
  }
}

async function download(url: string, temps: string[]): Promise<string> {
  try {
    const file = await tc.downloadTool(url)
    temps.push(file)
    return file
  } catch (err) {
    throw new Error(`Download of ${url} failed: ${message(err)}`, { cause: err })
  }
}

async function verify(url: string, file: string, expected: string): Promise<void> {
  const actual = await sha256(file)
  if (actual.toLowerCase() !== expected.toLowerCase()) {
    throw new ChecksumMismatchError(url, expected.toLowerCase(), actual.toLowerCase())
  }
}

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile()
  } catch {
    return false
  }
}

async function cleanup(paths: string[]): Promise<void> {
  await Promise.all(paths.map(p => fs.rm(p, { recursive: true, force: true }).catch(() => {})))
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
