import { describe, expect, it } from 'vitest'
import {
  folderPrefix,
  objectKey,
  parseBackupFilename,
  parseHelmTime,
  pickLatestBackup
} from '../src/facts/backup-selection.js'
import type { S3Object } from '../src/facts/s3-client.js'

const UID = '6c1e2f3a-9b8d-4e7f-a1b2-c3d4e5f60718'

function file(name: string, ts: string, encrypted = false): string {
  return `${name}-${UID}-${ts}.tar.gz${encrypted ? '.enc' : ''}`
}

function obj(key: string, lastModified = '2026-01-01T00:00:00.000Z'): S3Object {
  return { key, lastModified, size: 1234 }
}

describe('parseBackupFilename', () => {
  it('parses a plain backup name', () => {
    const c = parseBackupFilename(file('rancher-nightly', '2026-11-19T02-00-00Z'))
    expect(c).toEqual({
      filename: `rancher-nightly-${UID}-2026-11-19T02-00-00Z.tar.gz`,
      clusterUid: UID,
      takenAt: new Date('2026-11-19T02:00:00Z'),
      encrypted: false
    })
  })

  it('parses an encrypted backup', () => {
    const c = parseBackupFilename(file('pre-upgrade', '2026-11-20T09-59-59Z', true))
    expect(c?.encrypted).toBe(true)
    expect(c?.takenAt.toISOString()).toBe('2026-11-20T09:59:59.000Z')
  })

  it('accepts backup names with hyphens, dots and digits, and upper-case UIDs', () => {
    const name = `my.backup-2-${UID.toUpperCase()}-2024-02-29T23-59-59Z.tar.gz`
    expect(parseBackupFilename(name)?.takenAt.toISOString()).toBe('2024-02-29T23:59:59.000Z')
    expect(parseBackupFilename(name)?.clusterUid).toBe(UID)
  })

  it('applies a numeric zone offset written with hyphens (operator not in UTC)', () => {
    const c = parseBackupFilename(file('b', '2026-11-20T11-00-00+01-00'))
    expect(c?.takenAt.toISOString()).toBe('2026-11-20T10:00:00.000Z')
    const d = parseBackupFilename(file('b', '2026-11-20T05-30-00-04-30'))
    expect(d?.takenAt.toISOString()).toBe('2026-11-20T10:00:00.000Z')
  })

  it.each([
    ['no uid', 'backup-2026-11-20T10-00-00Z.tar.gz'],
    ['colons in time', `backup-${UID}-2026-11-20T10:00:00Z.tar.gz`],
    ['wrong extension', `backup-${UID}-2026-11-20T10-00-00Z.tgz`],
    ['zip', `backup-${UID}-2026-11-20T10-00-00Z.zip`],
    ['trailing junk', `backup-${UID}-2026-11-20T10-00-00Z.tar.gz.bak`],
    ['no backup name', `${UID}-2026-11-20T10-00-00Z.tar.gz`],
    ['bad uid', 'backup-6c1e2f3a-9b8d-4e7f-a1b2-c3d4e5f6071-2026-11-20T10-00-00Z.tar.gz'],
    ['impossible date', `backup-${UID}-2026-02-30T10-00-00Z.tar.gz`],
    ['impossible hour', `backup-${UID}-2026-11-20T24-00-00Z.tar.gz`],
    ['month 13', `backup-${UID}-2026-13-01T10-00-00Z.tar.gz`],
    ['subfolder', `old/backup-${UID}-2026-11-20T10-00-00Z.tar.gz`],
    ['empty', '']
  ])('rejects %s', (_label, name) => {
    expect(parseBackupFilename(name)).toBeUndefined()
  })
})

describe('objectKey / folderPrefix', () => {
  it('joins folder and file', () => {
    expect(objectKey('', 'a.tar.gz')).toBe('a.tar.gz')
    expect(objectKey('rancher', 'a.tar.gz')).toBe('rancher/a.tar.gz')
    expect(objectKey('rancher/prod', 'a.tar.gz')).toBe('rancher/prod/a.tar.gz')
    expect(objectKey('/rancher/', 'a.tar.gz')).toBe('rancher/a.tar.gz')
    expect(folderPrefix('')).toBe('')
    expect(folderPrefix('rancher/')).toBe('rancher/')
    expect(folderPrefix('rancher')).toBe('rancher/')
  })
})

describe('pickLatestBackup', () => {
  it("considers only this cluster's backups: a newer one of another cluster is ignored and said so", () => {
    const other = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9'
    const mine = `rancher/${file('nightly', '2026-11-19T02-00-00Z')}`
    const theirs = `rancher/nightly-${other}-2026-11-20T02-00-00Z.tar.gz`
    const c = pickLatestBackup([obj(mine), obj(theirs)], 'rancher', {
      takenBefore: new Date('2026-11-20T10:00:00Z'),
      encryptionConfigured: false,
      clusterUid: UID.toUpperCase()
    })
    expect(c.filename).toBe(file('nightly', '2026-11-19T02-00-00Z'))
    expect(c.reason).toContain('1 backup of other clusters ignored')
    const none = pickLatestBackup([obj(theirs)], 'rancher', {
      takenBefore: undefined,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(none.filename).toBeUndefined()
    expect(none.reason).toContain(
      `1 backup in folder 'rancher', all of other clusters (this cluster's kube-system UID is ${UID})`
    )
  })

  const upgrade = new Date('2026-11-20T10:00:00Z')
  const objects = [
    obj(`rancher/${file('nightly', '2026-11-18T02-00-00Z')}`),
    obj(`rancher/${file('nightly', '2026-11-19T02-00-00Z')}`),
    obj(`rancher/${file('pre-upgrade', '2026-11-20T09-55-00Z')}`),
    obj(`rancher/${file('nightly', '2026-11-20T10-00-00Z')}`), // at the cutoff: not before
    obj(`rancher/${file('nightly', '2026-11-21T02-00-00Z')}`),
    obj(`rancher/${file('enc', '2026-11-20T09-58-00Z', true)}`),
    obj(`rancher/archive/${file('nightly', '2026-11-20T09-59-00Z')}`), // subfolder
    obj(`other/${file('nightly', '2026-11-20T09-59-30Z')}`), // other folder
    obj('rancher/notes.txt'),
    obj('rancher/')
  ]

  it('picks the newest backup strictly before the upgrade', () => {
    const c = pickLatestBackup(objects, 'rancher', {
      takenBefore: upgrade,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(c.filename).toBe(file('pre-upgrade', '2026-11-20T09-55-00Z'))
    expect(c.considered).toBe(3)
    expect(c.reason).toContain('newest of 3 backups')
    expect(c.reason).toContain('before the upgrade at 2026-11-20T10:00:00Z')
    expect(c.reason).toContain('2 newer backups ignored')
    expect(c.reason).toContain('1 encrypted backup skipped because no encryption config')
  })

  it('uses encrypted backups when encryption is configured', () => {
    const c = pickLatestBackup(objects, 'rancher/', {
      takenBefore: upgrade,
      encryptionConfigured: true,
      clusterUid: UID
    })
    expect(c.filename).toBe(file('enc', '2026-11-20T09-58-00Z', true))
    expect(c.considered).toBe(4)
    expect(c.reason).not.toContain('encrypted backup skipped')
  })

  it('without a cutoff picks the newest of all', () => {
    const c = pickLatestBackup(objects, 'rancher', {
      takenBefore: undefined,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(c.filename).toBe(file('nightly', '2026-11-21T02-00-00Z'))
    expect(c.considered).toBe(5)
    expect(c.reason).not.toContain('upgrade')
  })

  it('only takes objects directly at the bucket root when folder is empty', () => {
    const c = pickLatestBackup([obj(file('root', '2026-11-01T00-00-00Z')), ...objects], '', {
      takenBefore: upgrade,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(c.filename).toBe(file('root', '2026-11-01T00-00-00Z'))
    expect(c.considered).toBe(1)
    expect(c.reason).toContain('the only backup in the bucket root')
  })

  it('compares zone-offset names by instant', () => {
    const c = pickLatestBackup(
      [
        obj(file('a', '2026-11-20T10-30-00+01-00')), // 09:30Z
        obj(file('b', '2026-11-20T09-45-00Z')),
        obj(file('c', '2026-11-20T10-50-00+00-30')) // 10:20Z: after the cutoff
      ],
      '',
      {
        takenBefore: upgrade,
        encryptionConfigured: false,
        clusterUid: UID
      }
    )
    expect(c.filename).toBe(file('b', '2026-11-20T09-45-00Z'))
    expect(c.reason).toContain('1 newer backup ignored')
  })

  it('says why when the folder is empty', () => {
    const c = pickLatestBackup([], 'rancher', {
      takenBefore: upgrade,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(c).toEqual({
      filename: undefined,
      considered: 0,
      reason: "No backup to restore: no files in folder 'rancher'."
    })
  })

  it('says why when no file looks like a backup', () => {
    const c = pickLatestBackup([obj('rancher/a.txt'), obj('rancher/b.tar.gz')], 'rancher', {
      takenBefore: upgrade,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(c.filename).toBeUndefined()
    expect(c.reason).toContain('none of the 2 files')
    expect(c.reason).toContain('named like a rancher-backup file')
  })

  it('says why when every backup is encrypted and no encryption is configured', () => {
    const c = pickLatestBackup([obj(file('x', '2026-11-01T00-00-00Z', true))], '', {
      takenBefore: upgrade,
      encryptionConfigured: false,
      clusterUid: UID
    })
    expect(c.filename).toBeUndefined()
    expect(c.reason).toContain('encrypted and no encryption config secret is set')
  })

  it('says why when every backup is newer than the upgrade', () => {
    const c = pickLatestBackup(
      [obj(file('x', '2026-11-20T10-00-00Z')), obj(file('y', '2026-11-21T00-00-00Z'))],
      '',
      {
        takenBefore: upgrade,
        encryptionConfigured: false,
        clusterUid: UID
      }
    )
    expect(c.filename).toBeUndefined()
    expect(c.considered).toBe(0)
    expect(c.reason).toBe(
      'No backup to restore: all 2 usable backups in the bucket root were taken at or after the ' +
        'upgrade at 2026-11-20T10:00:00Z.'
    )
  })

  it('breaks ties on the same timestamp deterministically', () => {
    const a = obj(file('a', '2026-11-19T00-00-00Z'), '2026-11-19T00:00:01.000Z')
    const b = obj(file('b', '2026-11-19T00-00-00Z'), '2026-11-19T00:00:05.000Z')
    const opts = {
      takenBefore: upgrade,
      encryptionConfigured: false,
      clusterUid: UID
    }
    expect(pickLatestBackup([a, b], '', opts).filename).toBe(b.key)
    expect(pickLatestBackup([b, a], '', opts).filename).toBe(b.key)
  })
})

describe('parseHelmTime', () => {
  it.each([
    ['2024-03-12T10:23:45.123456789Z', '2024-03-12T10:23:45.123Z'],
    ['2024-03-12T10:23:45.123456789+01:00', '2024-03-12T09:23:45.123Z'],
    ['2024-03-12T10:23:45.987654321-05:30', '2024-03-12T15:53:45.987Z'],
    ['2024-03-12T10:23:45Z', '2024-03-12T10:23:45.000Z'],
    ['2024-03-12T10:23:45.5Z', '2024-03-12T10:23:45.500Z'],
    ['2024-03-12T00:30:00.000000001+02:00', '2024-03-11T22:30:00.000Z'],
    ['2024-03-12 10:23:45.123456789 +0000 UTC', '2024-03-12T10:23:45.123Z'],
    ['2024-03-12 10:23:45.123456789 +0100 CET', '2024-03-12T09:23:45.123Z'],
    ['  2024-03-12T10:23:45.1Z  ', '2024-03-12T10:23:45.100Z']
  ])('parses %s', (input, iso) => {
    expect(parseHelmTime(input)?.toISOString()).toBe(iso)
  })

  it.each([
    '',
    'yesterday',
    '2024-03-12',
    '2024-03-12T10:23:45',
    '2024-03-12T10:23:45.1234567890Z',
    '2024-02-30T10:23:45Z',
    '2024-03-12T10:23:45+25:00'
  ])('rejects %j', input => {
    expect(parseHelmTime(input)).toBeUndefined()
  })
})
