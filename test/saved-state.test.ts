import { describe, expect, it } from 'vitest'
import { decide } from '../src/decide/decide.js'
import { parseSavedState, savedStateManifest, type SavedState } from '../src/facts/saved-state.js'

const state: SavedState = {
  record: {
    from: '2.7.9',
    to: '2.7.6',
    backupFilename: 'b.tar.gz',
    release: 'rancher',
    namespace: 'cattle-system',
    savedAt: '2026-11-24T09:00:00.000Z',
    holder: 'run 1'
  },
  values: 'hostname: r.example.com\nbootstrapPassword: pw\n',
  secrets: '[]'
}

describe('saved state', () => {
  it('round-trips through the Secret, values kept base64 in data (never stringData)', () => {
    const manifest = savedStateManifest(state) as {
      metadata: { namespace: string }
      data: Record<string, string>
    }
    expect(manifest.metadata.namespace).toBe('kube-system')
    expect(JSON.stringify(manifest)).not.toContain('bootstrapPassword')
    expect(parseSavedState(JSON.stringify(manifest))).toEqual(state)
  })
  it('absent or foreign Secrets are no saved state', () => {
    expect(parseSavedState('')).toBeUndefined()
    expect(
      parseSavedState(
        JSON.stringify({ data: { 'record.json': Buffer.from('{}').toString('base64') } })
      )
    ).toBeUndefined()
    expect(parseSavedState(JSON.stringify({ data: {} }))).toBeUndefined()
  })
})

describe('decide with an interrupted cleanup-and-reinstall', () => {
  const capi = {
    storedVersions: [],
    storedVersionsByCrd: {},
    provisioningNamespaceExists: false,
    provisioningReleaseExists: false,
    turtlesNamespaces: []
  }
  const rev = (revision: number, v: string) => ({
    revision,
    appVersion: v,
    chart: `rancher-${v}`,
    status: 'deployed',
    updated: '',
    description: ''
  })

  it('resumes when the release is gone', () => {
    const d = decide({
      target: { kind: 'previous' },
      releaseExists: false,
      history: [],
      capi,
      interrupted: state.record
    })
    expect(d).toMatchObject({
      kind: 'proceed',
      procedure: 'cleanup-and-reinstall',
      from: '2.7.9',
      to: '2.7.6'
    })
    expect(d.rule).toMatch(/resume/)
  })
  it('resumes when the release was reinstalled at the target but not verified', () => {
    const d = decide({
      target: { kind: 'explicit', version: '2.7.6' },
      releaseExists: true,
      history: [rev(1, '2.7.6')],
      capi,
      interrupted: state.record
    })
    expect(d).toMatchObject({ kind: 'proceed', procedure: 'cleanup-and-reinstall', to: '2.7.6' })
  })
  it('refuses another target on top of it', () => {
    const d = decide({
      target: { kind: 'explicit', version: '2.7.5' },
      releaseExists: false,
      history: [],
      capi,
      interrupted: state.record
    })
    expect(d).toMatchObject({ kind: 'refuse' })
  })
  it('is ignored once the release moved on to another version', () => {
    const d = decide({
      target: { kind: 'previous' },
      releaseExists: true,
      history: [rev(1, '2.7.6'), rev(2, '2.7.9')],
      capi,
      interrupted: state.record
    })
    expect(d).toMatchObject({
      kind: 'proceed',
      procedure: 'cleanup-and-reinstall',
      rule: expect.not.stringMatching(/resume/)
    })
  })
})
