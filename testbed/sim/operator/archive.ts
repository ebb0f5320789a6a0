/**
 * The backup file of the simulated backup-restore operator: a gzip'd tar laid out as the real
 * operator writes it (pkg/resourcesets/collector.go WriteBackupObjects, pkg/controllers/backup
 * CreateTarAndGzip):
 *
 *   <resource>.<group>#<version>/<name>.json               cluster-scoped objects
 *   <resource>.<group>#<version>/<namespace>/<name>.json   namespaced objects
 *   filters/filters.json                                   the ResourceSet used
 *
 * (core resources have an empty group: `secrets.#v1`). Entries come in filepath.Walk order
 * (lexical, directories before their contents, directory entries included), in USTAR headers as
 * Go's archive/tar writes them for FileInfoHeader input. Objects are Go-JSON encoded
 * (json.Marshal of map[string]interface{}: keys sorted, `<`, `>`, `&` escaped). The layout and
 * `filters/filters.json` are the same at every tag v1.2.1 to v11.0.1.
 *
 * Differs from upstream: the tar is written in memory (upstream writes a temporary directory and
 * walks it), so file modes and times are the sim's own.
 */
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'

const gzipP = promisify(gzip)
const gunzipP = promisify(gunzip)

// ---------------------------------------------------------------------------------------------
// Go's encoding/json
// ---------------------------------------------------------------------------------------------

function goJsonString(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029)
      out += `\\u${c.toString(16).padStart(4, '0')}`
    else out += ch
  }
  return out + '"'
}

/** json.Marshal of a decoded JSON value (maps with sorted keys, Go's HTML-safe escaping). */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return goJsonString(v)
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null'
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`
  if (Buffer.isBuffer(v)) return goJsonString(v.toString('base64'))
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    const keys = Object.keys(o)
      .filter(k => o[k] !== undefined)
      .sort()
    return `{${keys.map(k => `${goJsonString(k)}:${goJson(o[k])}`).join(',')}}`
  }
  return 'null'
}

// ---------------------------------------------------------------------------------------------
// tar (USTAR, PAX for names USTAR cannot hold)
// ---------------------------------------------------------------------------------------------

export interface TarEntry {
  /** Path inside the archive, no leading `./`, no trailing `/`. */
  name: string
  type: 'file' | 'dir'
  /** File contents (files only). */
  data?: Buffer
  /** Permission bits (default 0644 for files, 0755 for directories). */
  mode?: number
  mtime?: Date
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

function writeString(buf: Buffer, s: string, offset: number, length: number): void {
  Buffer.from(s, 'utf8').copy(buf, offset, 0, length)
}

function splitUstarPath(name: string): [string, string] | undefined {
  if (Buffer.byteLength(name) <= 100) return ['', name]
  // USTAR: prefix (<= 155) + '/' + name (<= 100), split at a slash.
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== '/') continue
    const prefix = name.slice(0, i)
    const rest = name.slice(i + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') {
      return [prefix, rest]
    }
  }
  return undefined
}

function header(
  name: string,
  prefix: string,
  typeflag: string,
  size: number,
  mode: number,
  mtime: Date
): Buffer {
  const h = Buffer.alloc(512)
  writeString(h, name, 0, 100)
  writeString(h, octal(mode, 8), 100, 8)
  writeString(h, octal(0, 8), 108, 8)
  writeString(h, octal(0, 8), 116, 8)
  writeString(h, octal(size, 12), 124, 12)
  writeString(h, octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12)
  writeString(h, '        ', 148, 8)
  writeString(h, typeflag, 156, 1)
  writeString(h, 'ustar\0', 257, 6)
  writeString(h, '00', 263, 2)
  writeString(h, octal(0, 8), 329, 8)
  writeString(h, octal(0, 8), 337, 8)
  writeString(h, prefix, 345, 155)
  let sum = 0
  for (const b of h) sum += b
  writeString(h, sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
  return h
}

function padded(data: Buffer): Buffer[] {
  const rem = data.length % 512
  return rem === 0 ? [data] : [data, Buffer.alloc(512 - rem)]
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const blen = Buffer.byteLength(body)
  let len = blen + 1
  while (String(len).length + blen !== len) len = String(len).length + blen
  return `${len}${body}`
}

/** A tar archive of the entries, in the order given. */
export function writeTar(entries: TarEntry[]): Buffer {
  const out: Buffer[] = []
  for (const e of entries) {
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0)
    const mode = e.mode ?? (e.type === 'dir' ? 0o755 : 0o644)
    const mtime = e.mtime ?? new Date(0)
    const typeflag = e.type === 'dir' ? '5' : '0'
    const split = splitUstarPath(e.name)
    if (split) {
      out.push(header(split[1], split[0], typeflag, data.length, mode, mtime))
    } else {
      const pax = Buffer.from(paxRecord('path', e.name))
      const paxName = `PaxHeaders.0/${e.name.split('/').pop() ?? ''}`.slice(0, 100)
      out.push(header(paxName, '', 'x', pax.length, 0o644, mtime), ...padded(pax))
      out.push(header(e.name.slice(0, 100), '', typeflag, data.length, mode, mtime))
    }
    if (data.length > 0) out.push(...padded(data))
  }
  out.push(Buffer.alloc(1024))
  return Buffer.concat(out)
}

function readString(buf: Buffer, offset: number, length: number): string {
  const slice = buf.subarray(offset, offset + length)
  const nul = slice.indexOf(0)
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8')
}

function readOctal(buf: Buffer, offset: number, length: number): number {
  const s = readString(buf, offset, length).trim()
  return s === '' ? 0 : parseInt(s, 8)
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < data.length) {
    const sp = data.indexOf(0x20, i)
    if (sp < 0) break
    const len = Number(data.subarray(i, sp).toString('utf8'))
    if (!Number.isFinite(len) || len <= 0) break
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8')
    const eq = rec.indexOf('=')
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1)
    i += len
  }
  return out
}

/** The entries of a tar archive (regular files and directories). */
export function readTar(buf: Buffer): TarEntry[] {
  const entries: TarEntry[] = []
  let off = 0
  let longName: string | undefined
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512)
    if (h.every(b => b === 0)) break
    const size = readOctal(h, 124, 12)
    const typeflag = String.fromCharCode(h[156] ?? 0)
    const dataStart = off + 512
    const data = buf.subarray(dataStart, dataStart + size)
    off = dataStart + Math.ceil(size / 512) * 512
    if (typeflag === 'x') {
      longName = parsePax(data)['path'] ?? longName
      continue
    }
    if (typeflag === 'L') {
      longName = readString(data, 0, data.length)
      continue
    }
    if (typeflag === 'g') continue
    const prefix = readString(h, 345, 155)
    const base = readString(h, 0, 100)
    const name = (longName ?? (prefix ? `${prefix}/${base}` : base)).replace(/\/$/, '')
    longName = undefined
    const mode = readOctal(h, 100, 8)
    const mtime = new Date(readOctal(h, 136, 12) * 1000)
    if (typeflag === '5') entries.push({ name, type: 'dir', mode, mtime })
    else if (typeflag === '0' || typeflag === '\0') {
      entries.push({ name, type: 'file', data: Buffer.from(data), mode, mtime })
    }
  }
  return entries
}

/** gzip'd tar. */
export async function writeTarGz(entries: TarEntry[]): Promise<Buffer> {
  return gzipP(writeTar(entries))
}

/** Entries of a gzip'd tar. */
export async function readTarGz(buf: Buffer): Promise<TarEntry[]> {
  return readTar(await gunzipP(buf))
}

/**
 * The archive entries for a set of files (path → contents) in filepath.Walk order: every parent
 * directory as its own entry, lexical order by path component.
 */
export function walkOrder(
  files: Map<string, { data: Buffer; mode?: number }>,
  mtime: Date
): TarEntry[] {
  interface Node {
    dirs: Map<string, Node>
    files: Map<string, { data: Buffer; mode?: number }>
  }
  const root: Node = { dirs: new Map(), files: new Map() }
  for (const [path, f] of files) {
    const parts = path.split('/')
    const file = parts.pop() ?? ''
    let n = root
    for (const p of parts) {
      let next = n.dirs.get(p)
      if (!next) {
        next = { dirs: new Map(), files: new Map() }
        n.dirs.set(p, next)
      }
      n = next
    }
    n.files.set(file, f)
  }
  const out: TarEntry[] = []
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  const visit = (n: Node, prefix: string) => {
    const names = [...new Set([...n.dirs.keys(), ...n.files.keys()])].sort(cmp)
    for (const name of names) {
      const path = prefix ? `${prefix}/${name}` : name
      const dir = n.dirs.get(name)
      if (dir) {
        out.push({ name: path, type: 'dir', mode: 0o755, mtime })
        visit(dir, path)
      }
      const f = n.files.get(name)
      if (f) out.push({ name: path, type: 'file', data: f.data, mode: f.mode ?? 0o644, mtime })
    }
  }
  visit(root, '')
  return out
}
