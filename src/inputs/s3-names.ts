/**
 * Names in S3: the bucket, the folder (a key prefix) and the backup file (the last part of the
 * key). Pure; each returns what is wrong (one clause) or undefined.
 */

/** AWS: reserved for access points, Object Lambda, Multi-Region Access Points, S3 Express… */
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-']
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']

/**
 * The general purpose bucket naming rules of the Amazon S3 user guide ("General purpose bucket
 * naming rules"): 3-63 characters; lowercase letters, digits, dots and hyphens; a letter or digit
 * first and last; no two adjacent dots; not an IP address; none of the reserved prefixes and
 * suffixes. Also no dot next to a hyphen: the rancher-backup operator's S3 client (minio-go,
 * s3utils.CheckValidBucketName) refuses `.-` and `-.`, as DNS-style bucket names always did.
 */
export function bucketProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `it has ${name.length} characters, not 3-63`
  if (!/^[a-z0-9.-]+$/.test(name))
    return 'it has characters other than lowercase letters, digits, dots and hyphens'
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return 'it does not start and end with a letter or digit'
  }
  if (name.includes('..')) return 'it has two adjacent dots'
  if (name.includes('.-') || name.includes('-.')) return 'it has a dot next to a hyphen'
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'it is formatted as an IP address'
  const prefix = RESERVED_PREFIXES.find(p => name.startsWith(p))
  if (prefix !== undefined) return `it starts with the reserved prefix ${prefix}`
  const suffix = RESERVED_SUFFIXES.find(s => name.endsWith(s))
  if (suffix !== undefined) return `it ends with the reserved suffix ${suffix}`
  return undefined
}

/**
 * A folder: segments separated by `/` (leading and trailing slashes are dropped by the caller),
 * none empty, `.` or `..`, no backslash. The operator joins folder and file name with Go's
 * filepath.Join, which would resolve such segments to another key than the one this action
 * checks in S3.
 */
export function folderProblem(folder: string): string | undefined {
  if (folder.includes('\\')) return 'it contains a backslash'
  if (folder === '') return undefined
  const segments = folder.split('/')
  if (segments.some(s => s === '')) return 'it has an empty segment (//)'
  const dots = segments.find(s => /^\.+$/.test(s))
  if (dots !== undefined) return `it has a ${dots === '.' ? '.' : dots} segment`
  return undefined
}

/**
 * A backup file name as the rancher-backup operator writes it: a name only (no `/` or `\`, not
 * dots only, no `..`), ending in `.tar.gz`, or `.tar.gz.enc` when the backup is encrypted.
 */
export function backupFilenameProblem(name: string): string | undefined {
  if (/[/\\]/.test(name)) return 'it is a path: give the file name only, no / or \\'
  if (/^\.+$/.test(name)) return 'it is only dots'
  if (name.includes('..')) return 'it contains ..'
  if (!/^.+\.tar\.gz(\.enc)?$/.test(name)) {
    return 'it does not end in .tar.gz (or .tar.gz.enc for an encrypted backup), as the operator names its files'
  }
  return undefined
}

export function isEncryptedBackupName(name: string): boolean {
  return name.endsWith('.tar.gz.enc')
}
