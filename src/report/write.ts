/** The report, where a person and a later step read it: the outputs and the job summary. */
import * as core from '@actions/core'
import { appendFile } from 'node:fs/promises'
import { info, warning } from './log.js'
import { buildOutputs } from './outputs.js'
import type { RunReport } from './run-report.js'
import { renderSummary } from './summary.js'

export async function writeReport(report: RunReport): Promise<void> {
  await writeOutputsAndSummary(buildOutputs(report), () => renderSummary(report))
}

/** Sets every output, then appends the summary to $GITHUB_STEP_SUMMARY (also the companion's). */
export async function writeOutputsAndSummary(
  outputs: Record<string, string>,
  summary: () => string
): Promise<void> {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
  if (!process.env.GITHUB_STEP_SUMMARY) {
    info('GITHUB_STEP_SUMMARY is not set: the job summary is not written.')
    return
  }
  try {
    // Appended directly: core.summary caches the file path of its first write.
    await appendFile(process.env.GITHUB_STEP_SUMMARY, summary() + '\n')
  } catch (e) {
    warning(`Could not write the job summary: ${(e as Error).message}`)
  }
}
