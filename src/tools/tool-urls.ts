/**
 * Pure helpers for the helm and kubectl downloads: platform mapping, URL building, and parsing of
 * checksum and "latest version" files. No I/O here.
 */
import { normalizeVersion } from '../decide/versions.js'

const DEFAULT_HELM_BASE = 'https://get.helm.sh'
const DEFAULT_KUBECTL_BASE = 'https://dl.k8s.io'

export type ToolOs = 'linux' | 'darwin'
export type ToolArch = 'amd64' | 'arm64'

export interface ToolPlatform {
  os: ToolOs
  arch: ToolArch
}

/** Maps process.platform to the name used in helm/kubectl download URLs. */
export function mapPlatform(platform: string): ToolOs {
  switch (platform) {
    case 'linux':
      return 'linux'
    case 'darwin':
      return 'darwin'
    case 'win32':
      throw new Error(
        'Windows runners are not supported: rancher-rollback runs on Linux and macOS runners only.'
      )
    default:
      throw new Error(
        `Unsupported platform '${platform}': rancher-rollback runs on Linux and macOS runners only.`
      )
  }
}

/** Maps process.arch to the name used in helm/kubectl download URLs. */
export function mapArch(arch: string): ToolArch {
  switch (arch) {
    case 'x64':
      return 'amd64'
    case 'arm64':
      return 'arm64'
    default:
      throw new Error(
        `Unsupported CPU architecture '${arch}': only x64 (amd64) and arm64 runners are supported.`
      )
  }
}

export function toolPlatform(platform: string, arch: string): ToolPlatform {
  return { os: mapPlatform(platform), arch: mapArch(arch) }
}

const VERSION_RE = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/

function isPinnedVersion(v: string): boolean {
  return VERSION_RE.test(v)
}

/**
 * Validates a requested version: 'latest' or 'vX.Y.Z' (a missing leading 'v' is added).
 * Returns 'latest' or the normalised 'vX.Y.Z'.
 */
export function normalizeRequestedVersion(tool: string, version: string): string {
  const v = version.trim()
  if (v === '' || v.toLowerCase() === 'latest') return 'latest'
  const withV = v.startsWith('v') ? v : `v${v}`
  if (!isPinnedVersion(withV)) {
    throw new Error(`Invalid ${tool} version '${version}': expected 'latest' or 'vX.Y.Z'.`)
  }
  return withV
}

/** Cache key for the tool cache: the version without its leading 'v'. */
export function cacheVersion(version: string): string {
  return normalizeVersion(version)
}

/** '' → default base; otherwise the mirror without trailing slashes. */
export function baseUrl(mirror: string, fallback: string): string {
  const m = mirror.trim().replace(/\/+$/, '')
  return m === '' ? fallback : m
}

export function helmArchiveName(version: string, p: ToolPlatform): string {
  return `helm-${version}-${p.os}-${p.arch}.tar.gz`
}

/** Directory inside the helm archive that holds the binary. */
export function helmArchiveDir(p: ToolPlatform): string {
  return `${p.os}-${p.arch}`
}

export function helmUrls(
  version: string,
  p: ToolPlatform,
  mirror: string
): { archive: string; checksum: string } {
  const archive = `${baseUrl(mirror, DEFAULT_HELM_BASE)}/${helmArchiveName(version, p)}`
  return { archive, checksum: `${archive}.sha256sum` }
}

export function helmLatestUrl(mirror: string): string {
  return `${baseUrl(mirror, DEFAULT_HELM_BASE)}/helm-latest-version`
}

export function kubectlUrls(
  version: string,
  p: ToolPlatform,
  mirror: string
): { binary: string; checksum: string } {
  const binary = `${baseUrl(mirror, DEFAULT_KUBECTL_BASE)}/release/${version}/bin/${p.os}/${p.arch}/kubectl`
  return { binary, checksum: `${binary}.sha256` }
}

export function kubectlLatestUrl(mirror: string): string {
  return `${baseUrl(mirror, DEFAULT_KUBECTL_BASE)}/release/stable.txt`
}

const HEX_RE = /^[0-9a-fA-F]{64}$/

/**
 * Parses a checksum file: either a bare SHA-256 hex digest (kubectl's `.sha256`) or
 * `<hex>  <filename>` (helm's `.sha256sum`, sha256sum format, optional `*` binary marker).
 * When `expectedFile` is given and the file names another file, it is rejected.
 * Returns the digest in lower case.
 */
export function parseChecksumFile(content: string, expectedFile?: string): string {
  const line = content
    .split(/\r?\n/)
    .map(l => l.trim())
    .find(l => l !== '')
  if (line === undefined) throw new Error('Checksum file is empty')
  const [hex, ...rest] = line.split(/\s+/)
  if (hex === undefined || !HEX_RE.test(hex)) {
    throw new Error(
      `Checksum file does not start with a SHA-256 hex digest: '${line.slice(0, 100)}'`
    )
  }
  const named = rest.join(' ').replace(/^\*/, '')
  if (named !== '' && expectedFile !== undefined) {
    const base = named.split('/').pop()
    if (base !== expectedFile) {
      throw new Error(`Checksum file is for '${named}', expected '${expectedFile}'`)
    }
  }
  return hex.toLowerCase()
}

/** Parses a version file (`helm-latest-version`, `stable.txt`): first non-empty line, 'vX.Y.Z'. */
export function parseVersionFile(content: string): string {
  const line = content
    .split(/\r?\n/)
    .map(l => l.trim())
    .find(l => l !== '')
  if (line === undefined) throw new Error('version file is empty')
  if (!isPinnedVersion(line)) {
    throw new Error(`version file does not hold a 'vX.Y.Z' version: '${line.slice(0, 100)}'`)
  }
  return line
}
