/**
 * Log lines as the backup-restore operator writes them: logrus' TextFormatter. The operator sets
 * `&logrus.TextFormatter{FullTimestamp: true, ForceColors: true, TimestampFormat:
 * "2006/01/02 15:04:05"}` in main.go (every release line), so `kubectl logs` shows the colored
 * form, escape codes included:
 *
 *   \x1b[36mINFO\x1b[0m[2026/11/24 09:00:00] Processing Restore CR r1                 <fields>
 *
 * (level text cut to four letters, the message padded to 44 columns and followed by a space,
 * then ` \x1b[<color>m<key>\x1b[0m=<value>` per field, keys sorted). Values are written bare
 * unless they hold a character outside [A-Za-z0-9-._/@^+], then Go-quoted (%q).
 *
 * Lines logged before the formatter is set use logrus' default for a non-terminal:
 *   time="2026-11-24T09:00:00Z" level=info msg="Starting controller"
 * (only v1.x to v2.1.1 log a line before it, see operator.ts).
 *
 * The formatter is set in main.go (v1.2.1 to v6.x) or cmd/operator/main.go (v7.0.0 to v11.0.1),
 * the same settings in every release. Differs from upstream: Debug and Trace lines are never
 * written (the chart's default level is Info).
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'

export type LogFields = Record<string, unknown>

const COLORS: Record<LogLevel, number> = {
  trace: 37,
  debug: 37,
  info: 36,
  warn: 33,
  error: 31,
  fatal: 31
}

const LEVEL_TEXT: Record<LogLevel, string> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'FATAL'
}

/** Go's `%q` of a string (strconv.Quote): printable runes kept, the rest escaped. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\x07') out += '\\a'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (ch === '\v') out += '\\v'
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`
    else if (cp >= 0x80 && cp < 0xa0) out += `\\u${cp.toString(16).padStart(4, '0')}`
    else out += ch
  }
  return out + '"'
}

function needsQuoting(text: string): boolean {
  return !/^[A-Za-z0-9\-._/@^+]*$/.test(text)
}

/** Go's fmt.Sprint of a field value, roughly: errors by message, objects as JSON. */
function sprint(v: unknown): string {
  if (v instanceof Error) return v.message
  if (typeof v === 'string') return v
  if (v === undefined || v === null) return '<nil>'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

function fieldValue(v: unknown): string {
  const s = sprint(v)
  return needsQuoting(s) ? goQuote(s) : s
}

function pad2(n: number): string {
  return String(n).padStart(2, '0')
}

/** `2006/01/02 15:04:05` in UTC (the operator's container runs in UTC). */
export function logrusTimestamp(d: Date): string {
  return (
    `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`
  )
}

/** RFC 3339 in UTC without fractions, as Go's time.RFC3339 prints a UTC time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** One colored logrus line (no trailing newline). */
export function formatColored(
  level: LogLevel,
  time: Date,
  message: string,
  fields: LogFields = {}
): string {
  const color = COLORS[level]
  const text = LEVEL_TEXT[level].slice(0, 4)
  const msg = message.replace(/\n$/, '')
  let line = `\x1b[${color}m${text}\x1b[0m[${logrusTimestamp(time)}] ${msg.padEnd(44)} `
  for (const k of Object.keys(fields).sort()) {
    line += ` \x1b[${color}m${k}\x1b[0m=${fieldValue(fields[k])}`
  }
  return line
}

/** One plain logrus line, `time="…" level=… msg="…"` (no trailing newline). */
export function formatPlain(
  level: LogLevel,
  time: Date,
  message: string,
  fields: LogFields = {}
): string {
  const parts = [
    `time=${fieldValue(rfc3339(time))}`,
    `level=${level === 'warn' ? 'warning' : level}`,
    `msg=${fieldValue(message.replace(/\n$/, ''))}`
  ]
  for (const k of Object.keys(fields).sort()) parts.push(`${k}=${fieldValue(fields[k])}`)
  return parts.join(' ')
}

/** A logger writing colored lines through `sink` with times from `now`. */
export class OperatorLogger {
  constructor(
    private readonly sink: (line: string) => void,
    private readonly now: () => Date
  ) {}

  log(level: LogLevel, message: string, fields?: LogFields): void {
    this.sink(formatColored(level, this.now(), message, fields))
  }

  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields)
  }

  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields)
  }

  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields)
  }

  /** A line written as is (e.g. client-go's klog lines). */
  plainLine(line: string): void {
    this.sink(line)
  }

  /** A line before the operator sets its formatter (plain text). */
  plain(level: LogLevel, message: string, fields?: LogFields): void {
    this.sink(formatPlain(level, this.now(), message, fields))
  }
}
