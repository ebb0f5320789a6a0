/**
 * The job summary ($GITHUB_STEP_SUMMARY) as one pure function of the run report.
 *
 * GitHub renders it as GitHub-flavoured markdown with inline HTML, escapes nothing and drops
 * anything over 1 MiB, so every dynamic string goes through `escapeHtml` (kubectl prints `<none>`)
 * and `escapeControls` (escape.ts: no raw ESC or other control character),
 * table cells also escape `|`, long parts are cut with a note, and the whole has a hard cap.
 * Code is shown in `<pre><code>` (entities decode there, unlike in a markdown fence).
 */
import type { HelmRevision, RestoreCondition } from '../facts/cluster-facts.js'
import type { Decision, Procedure } from '../decide/decide.js'
import type { PlannedStep } from '../run/plan.js'
import { escapeControls } from './escape.js'
import type {
  InterruptionRecord,
  RunReport,
  RunStatus,
  StepRecord,
  StepStatus
} from './run-report.js'

export const ROLLBACK_DOCS_URL =
  'https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/install-upgrade-on-a-kubernetes-cluster/rollbacks'

/** GitHub drops a step summary over 1 MiB; stay clearly below it. */
export const SUMMARY_MAX_BYTES = 1_000_000

const LIMITS = {
  /** One free-text field (error, next step, a reason…). */
  textChars: 8_000,
  /** One table cell. */
  cellChars: 1_000,
  /** One log or command line. */
  lineChars: 2_000,
  logLines: 300,
  logBytes: 200_000,
  commandLines: 400,
  commandBytes: 150_000,
  historyRows: 50,
  historyBytes: 100_000,
  stepRows: 200,
  stepBytes: 100_000,
  conditionRows: 50,
  listItems: 50,
  listBytes: 100_000
} as const

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;'
}

/** Escapes the five HTML-significant characters: & < > " ' */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ENTITIES[c] ?? c)
}

// ---- small text helpers -------------------------------------------------------------------

function clip(s: string, max: number): string {
  if (s.length <= max) return s
  return `${s.slice(0, max)}… (${s.length - max} more characters omitted)`
}

/**
 * Escaped text on one markdown source line: line breaks become `<br>`, so no line of the value can
 * start a heading, list or fence; `code spans` become `<code>` (markdown code spans would show
 * the entities literally).
 */
export function inline(s: string, max: number = LIMITS.textChars): string {
  return escapeControls(escapeHtml(clip(s.trim(), max)).replace(/\r?\n/g, '<br>')).replace(
    /`([^`]+)`/g,
    '<code>$1</code>'
  )
}

/** A markdown table cell: escaped, `|` neutralised, one line. */
export function cell(s: string): string {
  const text = inline(s, LIMITS.cellChars).replace(/\|/g, '&#124;')
  return text === '' ? '—' : text
}

export function code(s: string): string {
  return `<code>${inline(s, LIMITS.cellChars).replace(/\|/g, '&#124;')}</code>`
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

function omitted(n: number, what = 'lines'): string {
  return `… ${n} more ${what} omitted`
}

/**
 * Renders and keeps at most `maxItems` items and `maxBytes` bytes, from the head or from the tail.
 * Lazy: items past the budget are never rendered (a huge input costs nothing).
 */
function keepWithin<T>(
  items: readonly T[],
  render: (item: T) => string,
  maxItems: number,
  maxBytes: number,
  from: 'head' | 'tail'
): { kept: string[]; dropped: number } {
  const kept: string[] = []
  let used = 0
  for (let n = 0; n < items.length && kept.length < maxItems; n++) {
    const item = items[from === 'head' ? n : items.length - 1 - n] as T
    const text = render(item)
    const size = bytes(text) + 1
    if (used + size > maxBytes) break
    kept.push(text)
    used += size
  }
  if (from === 'tail') kept.reverse()
  return { kept, dropped: items.length - kept.length }
}

function table<T>(
  header: string[],
  rows: readonly T[],
  cells: (row: T) => string[],
  maxRows: number,
  maxBytes: number,
  from: 'head' | 'tail'
): string {
  const line = (values: string[]) => `| ${values.join(' | ')} |`
  const { kept, dropped } = keepWithin(rows, row => line(cells(row)), maxRows, maxBytes, from)
  const out = [line(header), line(header.map(() => '---')), ...kept]
  if (dropped > 0) {
    const note = `_${omitted(dropped, dropped === 1 ? 'row' : 'rows')}${from === 'tail' ? ' (oldest first)' : ''}_`
    return from === 'tail' ? `${note}\n\n${out.join('\n')}` : `${out.join('\n')}\n\n${note}`
  }
  return out.join('\n')
}

/** Lines in a `<pre><code>` block (an HTML block: blank lines and markdown inside are safe). */
function preBlock(
  lines: readonly string[],
  maxLines: number,
  maxBytes: number,
  from: 'head' | 'tail'
): string {
  const render = (l: string) =>
    escapeControls(
      escapeHtml(clip(l.replace(/\r?\n/g, ' ⏎ ').replace(/\r$/, ''), LIMITS.lineChars))
    )
  const { kept, dropped } = keepWithin(lines, render, maxLines, maxBytes, from)
  const body =
    dropped === 0
      ? kept
      : from === 'head'
        ? [...kept, omitted(dropped)]
        : [`${omitted(dropped)} (earlier lines)`, ...kept]
  return `<pre><code>${body.join('\n')}</code></pre>`
}

export function details(summary: string, body: string, open = false): string {
  return `<details${open ? ' open' : ''}><summary>${summary}</summary>\n\n${body}\n\n</details>`
}

export function list(items: string[]): string {
  const render = (i: string) => `- ${inline(i)}`
  const { kept, dropped } = keepWithin(items, render, LIMITS.listItems, LIMITS.listBytes, 'head')
  if (dropped > 0) kept.push(`- _${omitted(dropped, dropped === 1 ? 'item' : 'items')}_`)
  return kept.join('\n')
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const totalSeconds = ms / 1000
  if (totalSeconds < 60) return `${totalSeconds.toFixed(1)} s`
  const s = Math.round(totalSeconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const pad = (n: number) => String(n).padStart(2, '0')
  return h > 0 ? `${h}h ${pad(m)}m ${pad(sec)}s` : `${m}m ${pad(sec)}s`
}

// ---- sections -----------------------------------------------------------------------------

export const OUTCOME: Record<RunStatus, { icon: string; word: string }> = {
  succeeded: { icon: '✅', word: 'succeeded' },
  failed: { icon: '❌', word: 'failed' },
  refused: { icon: '⛔', word: 'refused' },
  planned: { icon: '📝', word: 'planned (dry run)' },
  cancelled: { icon: '🛑', word: 'cancelled' }
}

const STEP_ICON: Record<StepStatus, string> = {
  succeeded: '✅ succeeded',
  failed: '❌ failed',
  cancelled: '🛑 cancelled',
  skipped: '⏭️ skipped',
  planned: '📝 planned',
  'not-run': '⏸️ not run'
}

const PROCEDURE_WORDS: Record<Procedure, string> = {
  'in-place': 'Restore from the backup, then `helm rollback` to the target revision',
  'cleanup-and-reinstall':
    'rancher-cleanup, reinstall the backup operator, Restore, then `helm install` the target (Rancher is down meanwhile)',
  'restore-only': 'Restore from the backup; no Helm change'
}

function versions(decision: Decision | undefined): string {
  if (decision === undefined) return ''
  const from = decision.from === '' ? 'unknown' : decision.from
  const to = decision.to === '' ? 'unknown' : decision.to
  return `: ${inline(from, 200)} → ${inline(to, 200)}`
}

function heading(report: RunReport): string {
  const { icon, word } = OUTCOME[report.status]
  const dry = report.dryRun && report.status !== 'planned' ? ' (dry run)' : ''
  return `## ${icon} Rancher rollback ${word}${dry}${versions(report.decision)}`
}

function outcome(report: RunReport): string {
  const lines: string[] = []
  const d = report.decision
  if (d?.kind === 'proceed') {
    const revision =
      d.procedure === 'in-place' && d.rollbackRevision !== undefined
        ? ` (revision ${d.rollbackRevision})`
        : ''
    lines.push(
      `**Procedure:** <code>${escapeHtml(d.procedure)}</code> — ${PROCEDURE_WORDS[d.procedure]}${revision}`
    )
    if (d.rule !== '') lines.push(`**Why:** ${inline(d.rule)}`)
  }

  if (report.status === 'refused') {
    const reason = d?.kind === 'refuse' ? d.reason : report.error
    const instead = d?.kind === 'refuse' ? d.instead : report.nextStep
    if (d?.kind === 'refuse' && d.rule !== '') lines.push(`**Rule:** ${inline(d.rule)}`)
    lines.push(`**Refused:** ${inline(reason === '' ? 'no reason recorded' : reason)}`)
    if (instead !== '') lines.push(`**Do this instead:** ${inline(instead)}`)
    if (d?.kind === 'refuse' && report.error !== '' && report.error !== reason) {
      lines.push(`**Error:** ${inline(report.error)}`)
    }
  } else if (report.status === 'cancelled') {
    lines.push(
      `**Cancelled:** ${inline(report.error === '' ? 'no detail recorded' : report.error)}`
    )
    if (report.nextStep !== '') lines.push(`**Re-run:** ${inline(report.nextStep)}`)
  } else if (report.status === 'failed' || report.error !== '') {
    lines.push(
      `**Error:** ${inline(report.error === '' ? 'no error message recorded' : report.error)}`
    )
    if (report.nextStep !== '') lines.push(`**Next step:** ${inline(report.nextStep)}`)
  }

  if (report.status === 'planned') {
    lines.push(
      '**Dry run:** nothing in the cluster was changed. Re-run with `dry-run: false` to execute this plan.'
    )
  }

  const facts = report.facts
  if (facts !== undefined) {
    const d = facts.deployment
    const running = d.exists
      ? `deployment runs <code>${inline(d.image, 500)}</code> (${d.readyReplicas}/${d.replicas} ready)`
      : 'no Rancher deployment'
    const k8s =
      facts.kubernetesVersion === '' ? '' : `Kubernetes ${inline(facts.kubernetesVersion, 100)}; `
    lines.push(`**Before:** ${k8s}${running}`)
  }
  const backup = facts?.backup
  if (backup !== undefined && backup.filename !== '') {
    const note = backup.note === '' ? '' : ` (${inline(backup.note, 2_000)})`
    lines.push(`**Backup:** <code>${inline(backup.filename, 1_000)}</code>${note}`)
  }
  if (report.valuesFile !== '')
    lines.push(`**Saved Helm values:** <code>${inline(report.valuesFile, 1_000)}</code>`)

  const started = report.startedAt.toISOString()
  const took =
    report.finishedAt === undefined
      ? ''
      : ` · took ${formatDuration(report.finishedAt.getTime() - report.startedAt.getTime())}`
  lines.push(`<sub>Started ${started}${took}</sub>`)

  const body = lines.join('<br>\n')
  const reasons = d?.kind === 'proceed' && d.reasons.length > 0 ? `\n\n${list(d.reasons)}` : ''
  return body + reasons
}

export function stepsSection(steps: StepRecord[]): string {
  if (steps.length === 0) return ''
  const cells = (s: StepRecord) => [
    cell(s.title === '' ? s.id : s.title),
    STEP_ICON[s.status] ?? cell(s.status),
    s.status === 'not-run' || s.status === 'planned' ? '—' : formatDuration(s.durationMs),
    cell(s.detail)
  ]
  const header = ['Step', 'Status', 'Duration', 'Detail']
  return `### Steps\n\n${table(header, steps, cells, LIMITS.stepRows, LIMITS.stepBytes, 'head')}`
}

export function restoreSection(
  name: string,
  conditions: RestoreCondition[],
  kind: 'Restore' | 'Backup' = 'Restore'
): string {
  if (name === '' && conditions.length === 0) return ''
  const title = name === '' ? `### ${kind}` : `### ${kind} ${code(name)}`
  if (conditions.length === 0) return `${title}\n\nNo conditions reported yet.`
  const cells = (c: RestoreCondition) => [
    cell(c.type),
    cell(c.status),
    cell(c.reason),
    cell(c.message),
    cell(c.lastUpdateTime)
  ]
  const header = ['Condition', 'Status', 'Reason', 'Message', 'Last update']
  return `${title}\n\n${table(header, conditions, cells, LIMITS.conditionRows, LIMITS.stepBytes, 'head')}`
}

/** API server outages: what a reader of a slow or failed run needs to know first. */
function interruptionSection(items: InterruptionRecord[]): string {
  if (items.length === 0) return ''
  const cells = (i: InterruptionRecord) => [
    cell(i.during),
    code(i.command),
    cell(i.error),
    cell(String(i.retries)),
    i.recovered
      ? `✅ answered after ${formatDuration(i.outageMs)}`
      : i.retries === 0
        ? '⚠️ failed; not retried (lock renewals and helm upgrades never are)'
        : `❌ gave up after ${formatDuration(i.outageMs)}`
  ]
  const header = ['During', 'Command', 'Error', 'Retries', 'Outcome']
  const intro =
    "The API server could not be reached for a while. Each command was retried with the same arguments, within its own deadline and the run's `timeout`; waits were started again, and none was taken as done until the cluster said so."
  return `### API server interruptions\n\n${intro}\n\n${table(header, items, cells, LIMITS.conditionRows, LIMITS.stepBytes, 'head')}`
}

export function planSection(
  plan: readonly Pick<PlannedStep, 'title' | 'commands' | 'mutating'>[],
  open: boolean
): string {
  if (plan.length === 0) return ''
  const lines: string[] = []
  plan.forEach((step, i) => {
    lines.push(`# ${i + 1}. ${step.title} (${step.mutating ? 'changes the cluster' : 'read-only'})`)
    if (step.commands.length === 0) lines.push('#    (no command)')
    for (const command of step.commands) lines.push(command)
  })
  const mutating = plan.filter(s => s.mutating).length
  const summary = `Plan: ${plan.length} step${plan.length === 1 ? '' : 's'}, ${mutating} changing the cluster`
  return details(summary, preBlock(lines, LIMITS.commandLines, LIMITS.commandBytes, 'head'), open)
}

export function logSection(log: string[]): string {
  if (log.length === 0) return ''
  return details(
    log.includes('…')
      ? `Backup operator log (its last errors, then the last ${log.length - log.indexOf('…') - 1} lines)`
      : `Backup operator log (last ${log.length} line${log.length === 1 ? '' : 's'})`,
    preBlock(log, LIMITS.logLines, LIMITS.logBytes, 'tail')
  )
}

function historyTable(history: HelmRevision[]): string {
  const sorted = [...history].sort((a, b) => a.revision - b.revision)
  const cells = (h: HelmRevision) => [
    cell(String(h.revision)),
    cell(h.status),
    cell(h.chart),
    cell(h.appVersion),
    cell(h.updated),
    cell(h.description)
  ]
  const header = ['Revision', 'Status', 'Chart', 'App version', 'Updated', 'Description']
  return table(header, sorted, cells, LIMITS.historyRows, LIMITS.historyBytes, 'tail')
}

const revisions = (n: number) => `${n} revision${n === 1 ? '' : 's'}`

function historySection(before: HelmRevision[], after: HelmRevision[]): string {
  const parts: string[] = []
  if (before.length > 0)
    parts.push(details(`Helm history before (${revisions(before.length)})`, historyTable(before)))
  if (after.length > 0)
    parts.push(details(`Helm history after (${revisions(after.length)})`, historyTable(after)))
  return parts.length === 0 ? '' : `### Helm history\n\n${parts.join('\n\n')}`
}

function followUpSection(items: string[]): string {
  return items.length === 0 ? '' : `### Follow-ups\n\n${list(items)}`
}

/** Cuts a finished summary to `max` bytes at a line boundary, closing open blocks, with a note. */
export function capSummary(text: string, max: number = SUMMARY_MAX_BYTES): string {
  if (bytes(text) <= max) return text
  const note = '\n\n**… summary truncated to stay under the 1 MiB job summary limit.**\n'
  let cut = Buffer.from(text, 'utf8')
    .subarray(0, max - bytes(note) - 64) // room for the closing tags below
    .toString('utf8')
    .replace(/\uFFFD+$/, '')
  const lastNewline = cut.lastIndexOf('\n')
  if (lastNewline > 0) cut = cut.slice(0, lastNewline)
  // Close what the cut left open (dynamic text is escaped, so these tags are all ours).
  const count = (tag: string) => cut.split(tag).length - 1
  if (count('<pre>') > count('</pre>')) cut += '</code></pre>'
  if (count('<details') > count('</details>')) cut += '\n\n</details>'
  return cut + note
}

/** The whole job summary. Pure: the caller writes it with core.summary.addRaw(…).write(). */
export function renderSummary(report: RunReport): string {
  const sections = [
    heading(report),
    outcome(report),
    stepsSection(report.steps),
    restoreSection(report.restoreName, report.restoreConditions),
    interruptionSection(report.interruptions),
    followUpSection(report.followUps),
    planSection(report.plan, report.dryRun || report.status === 'planned'),
    logSection(report.operatorLog),
    historySection(report.historyBefore, report.historyAfter),
    `Procedure reference: [Rancher Manager docs: Rollbacks](${ROLLBACK_DOCS_URL})`
  ].filter(s => s !== '')
  return capSummary(`${sections.join('\n\n')}\n`)
}
