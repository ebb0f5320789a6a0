/**
 * What the rancher-cleanup container prints, and how: one output stream, and text formatted as
 * kubectl and bash format it.
 */
import type { KubeObject } from '../../cluster/kube-api.js'

// ---------------------------------------------------------------------------------------------
// Output: one stream (stdout and stderr), written in pieces, logged per complete line
// ---------------------------------------------------------------------------------------------

export class Output {
  private partial = ''
  constructor(private readonly emit: (line: string) => void) {}

  /** Raw text (may end without a newline: the next write continues the line). */
  write(text: string): void {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const p of parts) this.emit(p)
  }

  line(text = ''): void {
    this.write(`${text}\n`)
  }

  lines(lines: string[]): void {
    for (const l of lines) this.line(l)
  }

  /** Flush; true when the output ended without a newline. */
  end(): boolean {
    const partial = this.partial !== ''
    if (partial) this.emit(this.partial)
    this.partial = ''
    return partial
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting as kubectl and bash do it
// ---------------------------------------------------------------------------------------------

/**
 * How bash's xtrace quotes one word: words with shell metacharacters in single quotes (an
 * embedded newline stays literal, as bash 5 prints it), assignments as `NAME='value'`.
 */
export function shellQuote(w: string): string {
  if (w === '') return "''"
  if (/[\s'"\\|&;()<>!{}*[?\]^$`]/.test(w) || /^[~#]/.test(w))
    return `'${w.replace(/'/g, "'\\''")}'`
  return w
}

/** text/tabwriter as kubectl configures it (minwidth 6, padding 3; last cell unpadded). */
export function tabwrite(rows: string[][]): string[] {
  const widths: number[] = []
  for (const r of rows) {
    r.forEach((cell, i) => {
      if (i < r.length - 1) widths[i] = Math.max(widths[i] ?? 6, cell.length + 3)
    })
  }
  return rows.map(r =>
    r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i] ?? 6) : cell)).join('')
  )
}

/** k8s.io/apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365
    const y = Math.floor(hours / 24 / 365)
    return dy === 0 ? `${y}y` : `${y}y${dy}d`
  }
  return `${Math.floor(hours / 24 / 365)}y`
}

export function age(obj: KubeObject): string {
  const t = Date.parse(obj.metadata.creationTimestamp ?? '')
  return Number.isFinite(t) ? humanDuration(Date.now() - t) : '<unknown>'
}
