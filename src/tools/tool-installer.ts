/**
 * Installs helm and kubectl: resolves 'latest', looks in the runner tool cache, otherwise downloads
 * from upstream or a mirror, verifies SHA-256 and caches. Paths are returned, PATH is not touched.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import * as tc from '@actions/tool-cache'
import { info } from '../report/log.js'
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
  supportedResolvedVersion,
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
  /**
   * A directory only this run uses: the executables are copied there and run from there. The
   * tool cache is shared by concurrent jobs on a self-hosted runner, and tool-cache rewrites a
   * cached folder in place, so a binary run straight from the cache can be replaced under a job.
   */
  binDir: string
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
  log: Log = info,
  options: InstallOptions = {}
): Promise<InstalledTools> {
  const p = toolPlatform(options.platform ?? process.platform, options.arch ?? process.arch)
  const [helm, kubectl] = await Promise.all([
    install(helmSpec(req.helmMirror, p), req.helmVersion, p, log, req.binDir),
    install(kubectlSpec(req.kubectlMirror, p), req.kubectlVersion, p, log, req.binDir)
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

/**
 * Caching only saves the next job a download. Jobs on one self-hosted runner share its tool cache
 * and may fill it at the same moment: tool-cache's cacheDir/cacheFile remove and copy in place, so
 * two of them can interleave into a broken folder. This job stages its copy beside the version
 * folder and renames it in: the rename is atomic, the loser of a race drops its staged copy, and
 * `.complete` (what tool-cache's `find` requires) is written only after the folder is whole.
 */
async function cacheUnlessCached(
  tool: 'helm' | 'kubectl',
  arch: string,
  version: string,
  digest: string,
  executable: string,
  log: Log
): Promise<void> {
  const verified = `${tool} ${version} verified (sha256 ${digest})`
  if (tc.find(tool, cacheVersion(version), arch)) {
    log(`${verified}; already cached by another job`)
    return
  }
  const root = process.env['RUNNER_TOOL_CACHE'] ?? ''
  if (root === '') {
    log(`${verified}; not cached (RUNNER_TOOL_CACHE is not set)`)
    return
  }
  const folder = path.join(root, tool, cacheVersion(version), arch)
  const staging = `${folder}.staging-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await fs.mkdir(staging, { recursive: true })
    await fs.copyFile(executable, path.join(staging, tool))
    await fs.chmod(path.join(staging, tool), 0o755)
    try {
      await fs.rename(staging, folder)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err
      log(`${verified}; already cached by another job`)
      return
    }
    await fs.writeFile(`${folder}.complete`, '')
    log(`${verified} and cached`)
  } catch (err) {
    log(`${verified}; not cached (${(err as Error).message})`)
  } finally {
    await fs.rm(staging, { recursive: true, force: true })
  }
}

/** This run's own copy of a verified executable. */
async function place(source: string, name: string, binDir: string): Promise<string> {
  await fs.mkdir(binDir, { recursive: true })
  const target = path.join(binDir, name)
  await fs.copyFile(source, target)
  await fs.chmod(target, 0o755)
  return target
}

/** What differs between helm and kubectl: where each comes from and how it is packed. */
interface ToolSpec {
  tool: 'helm' | 'kubectl'
  latestUrl: string
  /** The download, its checksum file, and the name the checksum file lists. */
  urls(version: string): { artifact: string; checksum: string; checksumName: string }
  /** From the verified download to the executable. */
  unpack(downloaded: string, url: string, temps: string[]): Promise<string>
}

function helmSpec(mirror: string, p: ToolPlatform): ToolSpec {
  return {
    tool: 'helm',
    latestUrl: helmLatestUrl(mirror),
    urls: version => {
      const { archive, checksum } = helmUrls(version, p, mirror)
      return { artifact: archive, checksum, checksumName: helmArchiveName(version, p) }
    },
    unpack: async (archive, url, temps) => {
      const extracted = await tc.extractTar(archive)
      temps.push(extracted)
      const dir = path.join(extracted, helmArchiveDir(p))
      const executable = path.join(dir, 'helm')
      if (!(await isFile(executable))) {
        throw new Error(`${url} does not contain ${helmArchiveDir(p)}/helm`)
      }
      return executable
    }
  }
}

function kubectlSpec(mirror: string, p: ToolPlatform): ToolSpec {
  return {
    tool: 'kubectl',
    latestUrl: kubectlLatestUrl(mirror),
    urls: version => {
      const { binary, checksum } = kubectlUrls(version, p, mirror)
      return { artifact: binary, checksum, checksumName: 'kubectl' }
    },
    unpack: binary => Promise.resolve(binary)
  }
}

async function install(
  spec: ToolSpec,
  requested: string,
  p: ToolPlatform,
  log: Log,
  binDir: string
): Promise<Installed> {
  const { tool } = spec
  const version = await resolveVersion(tool, requested, spec.latestUrl, log)
  const key = cacheVersion(version)

  const cached = tc.find(tool, key, p.arch)
  if (cached && (await isFile(path.join(cached, tool)))) {
    log(`${tool} ${version} found in the tool cache`)
    return { path: await place(path.join(cached, tool), tool, binDir), version }
  }

  const urls = spec.urls(version)
  log(`Downloading ${tool} ${version} from ${urls.artifact}`)
  const temps: string[] = []
  try {
    const [artifact, checksumFile] = await Promise.all([
      download(urls.artifact, temps),
      download(urls.checksum, temps)
    ])
    const expected = parseChecksumFile(await fs.readFile(checksumFile, 'utf8'), urls.checksumName)
    await verify(urls.artifact, artifact, expected)
    const executable = await spec.unpack(artifact, urls.artifact, temps)
    await fs.chmod(executable, 0o755)
    const own = await place(executable, tool, binDir)
    await cacheUnlessCached(tool, p.arch, version, expected, own, log)
    return { path: own, version }
  } finally {
    await cleanup(temps)
  }
}

async function resolveVersion(
  tool: 'helm' | 'kubectl',
  requested: string,
  latestUrl: string,
  log: Log
): Promise<string> {
  const v = normalizeRequestedVersion(tool, requested)
  if (v !== 'latest') return v
  const temps: string[] = []
  let resolved: string
  try {
    const file = await download(latestUrl, temps)
    resolved = parseVersionFile(await fs.readFile(file, 'utf8'))
  } catch (err) {
    throw new Error(
      `Could not resolve the latest ${tool} version from ${latestUrl}: ${message(err)}. ` +
        `Pin ${tool}-version to an explicit version (e.g. v1.2.3) to skip this lookup.`,
      { cause: err }
    )
  } finally {
    await cleanup(temps)
  }
  if (!supportedResolvedVersion(tool, resolved)) {
    throw new Error(
      `${tool}-version 'latest' resolved to ${resolved} (from ${latestUrl}), a major this action ` +
        `does not support; it was not downloaded. Pin ${tool}-version to a supported version.`
    )
  }
  log(`${tool} latest resolved to ${resolved}`)
  return resolved
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
