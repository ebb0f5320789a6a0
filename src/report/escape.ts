/**
 * The one place text is made safe to print (pure). Everything the action prints goes through one
 * of these rules:
 *
 * - `quote`: a value in a message: in double quotes, `\` and `"` escaped, control characters
 *   escaped. It cannot span lines, and its opening quote keeps it from starting a command.
 * - `logLine`: a whole line (or several) for `core.info`: control characters escaped, and no line
 *   can be a workflow command.
 * - `escapeControls`: the character rule both use (the job summary uses it too).
 *
 * The runner reads a step's output line by line, a line ending at `\n`, `\r` or `\r\n`. A line is a
 * workflow command when, after its leading white space, it starts with `::` (actions/runner
 * `ActionCommand.TryParseV2`), or when it contains `##[` anywhere (the legacy form,
 * `ActionCommand.TryParse`, which `ActionCommandManager` still tries when the first fails). The
 * toolkit's own commands (`core.warning`, `core.error`, `core.setFailed`, `core.group`) escape
 * their data; `core.info` writes its text as it is, so a raw `\n::warning::x` or `\r` in it would
 * start a command.
 */

/**
 * What no accepted single-line input contains and what is never printed raw: C0 controls
 * (newline, CR and tab included), DEL, C1 controls (NEL and CSI among them), the Unicode line and
 * paragraph separators, the zero-width no-break space and the bidirectional formatting controls
 * (text that reads otherwise than it is).
 */
export const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu')

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' }

/** One unprintable character, as an escape: `\n`, `\r`, `\t`, `\0`, `\x1b`, `\u202e`. */
export function escapeChar(c: string): string {
  const named = NAMED[c]
  if (named !== undefined) return named
  const code = c.codePointAt(0) ?? 0
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`
}

/** Every unprintable character escaped (`\n`, `\x1b`, …); everything else as it is. */
export function escapeControls(text: string): string {
  return text.replace(UNPRINTABLE_ALL, escapeChar)
}

/** The unprintable characters of `text`, escaped, once each, in order: `\n, \x1b`. */
export function unprintableIn(text: string): string[] {
  return [...new Set([...text.matchAll(UNPRINTABLE_ALL)].map(m => escapeChar(m[0])))]
}

/** Breaks the legacy command marker `##[` (anywhere in a line) without hiding it. */
function breakLegacyMarker(text: string): string {
  return text.replace(/##\[/g, '##\\x5b')
}

/**
 * A value as a message shows it: `"…"` with `\` and `"` escaped and every unprintable character
 * escaped, on one line, never a workflow command.
 */
export function quote(value: string): string {
  const body = escapeControls(value.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))
  return `"${breakLegacyMarker(body)}"`
}

/**
 * Text for the log (`core.info`): each of its lines with unprintable characters escaped (tabs
 * kept), a leading `::` broken (`\x3a:`) and `##[` broken (`##\x5b`). Line breaks (`\n`, `\r\n`, or
 * a lone `\r`, which the runner also reads as one) become `\n`.
 */
export function logLine(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map(line => {
      const escaped = breakLegacyMarker(
        line.replace(UNPRINTABLE_ALL, c => (c === '\t' ? c : escapeChar(c)))
      )
      return escaped.replace(/^(\s*)::/u, '$1\\x3a:')
    })
    .join('\n')
}
