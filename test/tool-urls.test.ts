import { describe, expect, it } from 'vitest'
import {
  baseUrl,
  cacheVersion,
  helmArchiveDir,
  helmLatestUrl,
  helmUrls,
  kubectlLatestUrl,
  kubectlUrls,
  mapArch,
  mapPlatform,
  normalizeRequestedVersion,
  parseChecksumFile,
  parseVersionFile,
  toolPlatform
} from '../src/tools/tool-urls.js'

const HEX = 'ab'.repeat(32)

describe('platform mapping', () => {
  it('maps supported platforms and architectures', () => {
    expect(mapPlatform('linux')).toBe('linux')
    expect(mapPlatform('darwin')).toBe('darwin')
    expect(mapArch('x64')).toBe('amd64')
    expect(mapArch('arm64')).toBe('arm64')
    expect(toolPlatform('darwin', 'arm64')).toEqual({ os: 'darwin', arch: 'arm64' })
  })

  it('rejects Windows with a message naming the supported runners', () => {
    expect(() => mapPlatform('win32')).toThrow(/Linux and macOS runners/)
    expect(() => mapPlatform('freebsd')).toThrow(/'freebsd'.*Linux and macOS/)
  })

  it('rejects unsupported architectures', () => {
    expect(() => mapArch('ia32')).toThrow(/'ia32'.*x64.*arm64/)
    expect(() => mapArch('s390x')).toThrow(/Unsupported CPU architecture/)
  })
})

describe('URLs', () => {
  const amd = { os: 'linux', arch: 'amd64' } as const
  const arm = { os: 'linux', arch: 'arm64' } as const
  const mac = { os: 'darwin', arch: 'arm64' } as const

  it('builds upstream helm URLs', () => {
    expect(helmUrls('v4.1.4', amd, '')).toEqual({
      archive: 'https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz',
      checksum: 'https://get.helm.sh/helm-v4.1.4-linux-amd64.tar.gz.sha256sum'
    })
    expect(helmUrls('v3.17.0', mac, '').archive).toBe(
      'https://get.helm.sh/helm-v3.17.0-darwin-arm64.tar.gz'
    )
    expect(helmArchiveDir(arm)).toBe('linux-arm64')
    expect(helmLatestUrl('')).toBe('https://get.helm.sh/helm-latest-version')
  })

  it('builds upstream kubectl URLs', () => {
    expect(kubectlUrls('v1.33.1', arm, '')).toEqual({
      binary: 'https://dl.k8s.io/release/v1.33.1/bin/linux/arm64/kubectl',
      checksum: 'https://dl.k8s.io/release/v1.33.1/bin/linux/arm64/kubectl.sha256'
    })
    expect(kubectlUrls('v1.33.1', mac, '').binary).toBe(
      'https://dl.k8s.io/release/v1.33.1/bin/darwin/arm64/kubectl'
    )
    expect(kubectlLatestUrl('')).toBe('https://dl.k8s.io/release/stable.txt')
  })

  it('uses mirrors, tolerating a trailing slash', () => {
    expect(baseUrl('', 'https://x')).toBe('https://x')
    expect(baseUrl('https://m.example/helm/', 'https://x')).toBe('https://m.example/helm')
    expect(helmUrls('v4.1.4', amd, 'https://m.example/helm').archive).toBe(
      'https://m.example/helm/helm-v4.1.4-linux-amd64.tar.gz'
    )
    expect(kubectlUrls('v1.33.1', amd, 'https://m.example/k8s/').checksum).toBe(
      'https://m.example/k8s/release/v1.33.1/bin/linux/amd64/kubectl.sha256'
    )
    expect(helmLatestUrl('https://m.example/helm')).toBe(
      'https://m.example/helm/helm-latest-version'
    )
    expect(kubectlLatestUrl('https://m.example/k8s')).toBe(
      'https://m.example/k8s/release/stable.txt'
    )
  })
})

describe('versions', () => {
  it('normalises requested versions', () => {
    expect(normalizeRequestedVersion('helm', 'latest')).toBe('latest')
    expect(normalizeRequestedVersion('helm', ' LATEST ')).toBe('latest')
    expect(normalizeRequestedVersion('helm', 'v4.1.4')).toBe('v4.1.4')
    expect(normalizeRequestedVersion('helm', '4.1.4')).toBe('v4.1.4')
    expect(normalizeRequestedVersion('kubectl', 'v1.34.0-rc.1')).toBe('v1.34.0-rc.1')
  })

  it('rejects malformed versions', () => {
    expect(() => normalizeRequestedVersion('helm', 'v4')).toThrow(/Invalid helm version "v4"/)
    expect(() => normalizeRequestedVersion('kubectl', '../../etc')).toThrow(/kubectl/)
  })

  it('strips the v for the cache key', () => {
    expect(cacheVersion('v4.1.4')).toBe('4.1.4')
    expect(cacheVersion('1.2.3')).toBe('1.2.3')
  })

  it('parses version files', () => {
    expect(parseVersionFile('v4.1.4\n')).toBe('v4.1.4')
    expect(parseVersionFile('\n  v1.33.1  \r\n')).toBe('v1.33.1')
    expect(() => parseVersionFile('')).toThrow(/empty/)
    expect(() => parseVersionFile('<html>Not Found</html>')).toThrow(/vX\.Y\.Z/)
  })
})

describe('parseChecksumFile', () => {
  it('parses a bare digest (kubectl)', () => {
    expect(parseChecksumFile(`${HEX}\n`)).toBe(HEX)
    expect(parseChecksumFile(HEX.toUpperCase(), 'kubectl')).toBe(HEX)
  })

  it('parses sha256sum format (helm)', () => {
    const name = 'helm-v4.1.4-linux-amd64.tar.gz'
    expect(parseChecksumFile(`${HEX}  ${name}\n`, name)).toBe(HEX)
    expect(parseChecksumFile(`${HEX} *${name}`, name)).toBe(HEX)
    expect(parseChecksumFile(`${HEX}  ${name}`)).toBe(HEX)
  })

  it('rejects a checksum for another file', () => {
    expect(() =>
      parseChecksumFile(`${HEX}  helm-v4.1.4-linux-arm64.tar.gz`, 'helm-v4.1.4-linux-amd64.tar.gz')
    ).toThrow(/linux-arm64.*expected.*linux-amd64/)
  })

  it('rejects garbage', () => {
    expect(() => parseChecksumFile('')).toThrow(/empty/)
    expect(() => parseChecksumFile('abc123  file')).toThrow(/SHA-256/)
    expect(() => parseChecksumFile('<html>404</html>')).toThrow(/SHA-256/)
  })
})
