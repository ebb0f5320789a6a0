/**
 * Pure helpers to recognise rancher-backup files in an S3 listing and pick the one to restore.
 *
 * The backup-restore operator names files `<backup-name>-<kube-system UID>-<timestamp>.tar.gz`
 * (`.tar.gz.enc` when an encryption config is set), where the timestamp is Go's RFC 3339 form of
 * the operator's clock with every `:` replaced by `-`: `2024-03-12T10-23-45Z`, or with an offset
 * (`2024-03-12T10-23-45+01-00`) when the operator's time zone is not UTC.
 */

import type { S3Object } from './s3-client.js'

export interface BackupCandidate {
  filename: string
  /** The kube-system UID of the cluster it was taken on, lowercase. */
  clusterUid: string
  takenAt: Date
  encrypted: boolean
}

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
const BACKUP_NAME_RE = new RegExp(
  `^(.+)-(${UUID})-(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2})-(\\d{2})-(\\d{2})(Z|[+-]\\d{2}-\\d{2})\\.tar\\.gz(\\.enc)?$`
)

/** Builds a UTC Date from calendar fields; undefined when a field is out of range. */
function utcDate(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  ms: number
): Date | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms)
  const date = new Date(t)
  // Date.UTC rolls 31 Feb over into March: reject it.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return undefined
  }
  return date
}

/** Minutes east of UTC for `Z`, `+01:00`, `+0100` or `+01-00`; undefined when malformed. */
function offsetMinutes(z: string): number | undefined {
  if (z === 'Z' || z === 'z') return 0
  const m = /^([+-])(\d{2})[-:]?(\d{2})$/.exec(z)
  if (!m) return undefined
  const hours = Number(m[2])
  const minutes = Number(m[3])
  if (hours > 23 || minutes > 59) return undefined
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes)
}

/** Parses a backup file name (no folder part). Undefined when it is not a rancher-backup file. */
export function parseBackupFilename(name: string): BackupCandidate | undefined {
  if (name.includes('/')) return undefined
  const m = BACKUP_NAME_RE.exec(name)
  if (!m) return undefined
  const [, , uid, y, mo, d, h, mi, s, zone, enc] = m
  const local = utcDate(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), 0)
  const offset = offsetMinutes(zone ?? '')
  if (!local || offset === undefined) return undefined
  return {
    filename: name,
    clusterUid: (uid ?? '').toLowerCase(),
    takenAt: new Date(local.getTime() - offset * 60_000),
    encrypted: enc !== undefined
  }
}

/** Folder as the operator's `folder` field, without leading or trailing slashes. */
function normalizeFolder(folder: string): string {
  return folder.trim().replace(/^\/+|\/+$/g, '')
}

/** The S3 key of `filename` in `folder` ('' → the bucket root). */
export function objectKey(folder: string, filename: string): string {
  const f = normalizeFolder(folder)
  return f === '' ? filename : `${f}/${filename}`
}

/** `s3://bucket/folder/`, for messages. */
export function s3Location(bucket: string, folder: string): string {
  return `s3://${bucket}/${folderPrefix(folder)}`
}

/** The list prefix for the files directly in `folder`: '' for the root, else `folder/`. */
export function folderPrefix(folder: string): string {
  const f = normalizeFolder(folder)
  return f === '' ? '' : `${f}/`
}

export interface LatestChoice {
  /** The chosen file name relative to the folder (what the Restore's backupFilename wants). */
  filename: string | undefined
  /** How many backup files were eligible (parsed, right folder, encryption usable). */
  considered: number
  /** One sentence for the summary. */
  reason: string
}

/** ISO time without milliseconds when they are zero: 2026-11-20T10:00:00Z. */
function formatTime(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z')
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/**
 * Picks the newest backup directly in `folder` (not in a subfolder) taken strictly before
 * `takenBefore` (the upgrade to the current version; undefined = no cutoff) on the cluster whose
 * kube-system UID is `clusterUid` (undefined = any cluster). Encrypted backups count only when an
 * encryption config is configured.
 */
export function pickLatestBackup(
  objects: S3Object[],
  folder: string,
  opts: {
    takenBefore: Date | undefined
    encryptionConfigured: boolean
    clusterUid: string | undefined
  }
): LatestChoice {
  const prefix = folderPrefix(folder)
  const where = prefix === '' ? 'the bucket root' : `folder '${normalizeFolder(folder)}'`

  const parsed: Array<BackupCandidate & { lastModified: string }> = []
  let inFolder = 0
  let otherClusters = 0
  for (const o of objects) {
    if (!o.key.startsWith(prefix)) continue
    const name = o.key.slice(prefix.length)
    if (name === '' || name.includes('/')) continue
    inFolder++
    const c = parseBackupFilename(name)
    if (c === undefined) continue
    if (opts.clusterUid !== undefined && c.clusterUid !== opts.clusterUid.toLowerCase()) {
      otherClusters++
      continue
    }
    parsed.push({ ...c, lastModified: o.lastModified })
  }

  const encryptedSkipped = opts.encryptionConfigured ? [] : parsed.filter(c => c.encrypted)
  const usable = opts.encryptionConfigured ? parsed : parsed.filter(c => !c.encrypted)
  const cutoff = opts.takenBefore
  const eligible = cutoff ? usable.filter(c => c.takenAt.getTime() < cutoff.getTime()) : usable
  const newer = usable.length - eligible.length

  const notes: string[] = []
  if (otherClusters > 0) notes.push(`${plural(otherClusters, 'backup')} of other clusters ignored`)
  if (newer > 0) notes.push(`${plural(newer, 'newer backup')} ignored`)
  if (encryptedSkipped.length > 0) {
    notes.push(
      `${plural(encryptedSkipped.length, 'encrypted backup')} skipped because no encryption ` +
        'config secret is set'
    )
  }
  const tail = notes.length > 0 ? ` (${notes.join('; ')})` : ''
  const cutoffText = cutoff ? ` taken before the upgrade at ${formatTime(cutoff)}` : ''

  if (eligible.length === 0) {
    let why: string
    if (parsed.length === 0) {
      why =
        inFolder === 0
          ? `no files in ${where}`
          : otherClusters > 0
            ? `${plural(otherClusters, 'backup')} in ${where}, all of other clusters (this cluster's kube-system UID is ${opts.clusterUid})`
            : `none of the ${plural(inFolder, 'file')} in ${where} is named like a rancher-backup file`
    } else if (usable.length === 0) {
      why =
        `all ${plural(parsed.length, 'backup')} in ${where} are encrypted and no encryption ` +
        'config secret is set'
    } else {
      why =
        `all ${plural(usable.length, 'usable backup')} in ${where} were taken at or after the ` +
        `upgrade at ${formatTime(cutoff ?? new Date(0))}` +
        (encryptedSkipped.length > 0
          ? ` (${plural(encryptedSkipped.length, 'encrypted backup')} skipped because no ` +
            'encryption config secret is set)'
          : '')
    }
    return { filename: undefined, considered: 0, reason: `No backup to restore: ${why}.` }
  }

  const best = eligible.reduce((a, b) => {
    const d = a.takenAt.getTime() - b.takenAt.getTime()
    if (d !== 0) return d > 0 ? a : b
    if (a.lastModified !== b.lastModified) return a.lastModified > b.lastModified ? a : b
    return a.filename >= b.filename ? a : b
  })
  const count = eligible.length
  const subject = count === 1 ? `the only backup` : `newest of ${count} backups`
  return {
    filename: best.filename,
    considered: count,
    reason:
      `Chose ${best.filename} (taken ${formatTime(best.takenAt)}): ${subject} in ${where}` +
      `${cutoffText}${tail}.`
  }
}

/**
 * Parses Helm's `updated` time: RFC 3339 with up to nanoseconds (`helm history -o json`,
 * "2024-03-12T10:23:45.123456789+01:00") or Go's default form (`helm list -o json`,
 * "2024-03-12 10:23:45.123456789 +0100 CET"). Sub-millisecond digits are dropped.
 */
export function parseHelmTime(s: string): Date | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|z|[+-]\d{2}:?\d{2})(?:\s+[A-Za-z0-9+-]+)?$/.exec(
      s.trim()
    )
  if (!m) return undefined
  const [, y, mo, d, h, mi, sec, frac, zone] = m
  const ms = frac ? Number((frac + '00').slice(0, 3)) : 0
  const local = utcDate(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec), ms)
  const offset = offsetMinutes(zone ?? '')
  if (!local || offset === undefined) return undefined
  return new Date(local.getTime() - offset * 60_000)
}
