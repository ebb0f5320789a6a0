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

/** The majors this action drives: Helm 3 and 4 (their flags differ, commands.ts knows both). */
export const SUPPORTED_MAJORS: Readonly<Record<'helm' | 'kubectl', readonly number[]>> = {
  helm: [3, 4],
  kubectl: [1]
}

const EXAMPLES: Record<'helm' | 'kubectl', string> = { helm: 'v3.17.2', kubectl: 'v1.32.3' }

/**
 * The rule for a requested tool version (the `helm-version` / `kubectl-version` inputs): `latest`
 * (any case), or a release version `vX.Y.Z` or `X.Y.Z`, optionally with a pre-release
 * (`v3.18.0-rc.1`: get.helm.sh and dl.k8s.io publish those), of a supported major. Build metadata
 * (`+…`) is refused: no helm or kubectl release carries it, so no download URL could match.
 * Returns `latest` or the normalised `vX.Y.Z[-pre]`, or what is expected.
 */
export function toolVersionRule(
  tool: 'helm' | 'kubectl',
  value: string
): { version: string } | { expected: string } {
  const v = value.trim()
  const accepted = `'latest' or a ${tool} release version such as ${EXAMPLES[tool]} (v optional)`
  if (v.toLowerCase() === 'latest') return { version: 'latest' }
  const m = /^[vV]?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+.*)?$/.exec(v)
  if (m === null) return { expected: accepted }
  const [, major = '', minor = '', patch = '', pre = '', build] = m
  const numbers = [major, minor, patch]
  if (numbers.some(n => n.length > 1 && n.startsWith('0'))) {
    return { expected: `${accepted} (no leading zeros)` }
  }
  if (build !== undefined) {
    return {
      expected: `${accepted}, without build metadata (${build}): no ${tool} release carries it`
    }
  }
  const supported = SUPPORTED_MAJORS[tool]
  if (!supported.includes(Number(major))) {
    const names = supported.map(n => `${tool === 'helm' ? 'Helm ' : ''}${n}.x`).join(' or ')
    return {
      expected:
        tool === 'helm'
          ? `${accepted}: Helm ${major} is not supported, only ${names} (Helm 2 needs Tiller and other flags)`
          : `${accepted}: kubectl ${major}.x does not exist, only ${names}`
    }
  }
  return { version: `v${major}.${minor}.${patch}${pre}` }
}

/**
 * Validates a requested version with `toolVersionRule`: 'latest' or 'vX.Y.Z' (a missing leading
 * 'v' is added). Returns 'latest' or the normalised 'vX.Y.Z'; '' means 'latest'.
 */
export function normalizeRequestedVersion(tool: string, version: string): string {
  if (version.trim() === '') return 'latest'
  const rule = toolVersionRule(tool === 'kubectl' ? 'kubectl' : 'helm', version)
  if ('expected' in rule) {
    throw new Error(
      `Invalid ${tool} version ${JSON.stringify(version)}: expected ${rule.expected}.`
    )
  }
  return rule.version
}

/**
 * Whether a version `latest` resolved to is of a supported major: a future Helm 5 would be
 * refused by name, before its download, instead of failing on changed flags.
 */
export function supportedResolvedVersion(tool: 'helm' | 'kubectl', version: string): boolean {
  const major = Number(/^v(\d+)\./.exec(version)?.[1])
  return SUPPORTED_MAJORS[tool].includes(major)
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
