/**
 * The action's log. Every line it writes goes through `logLine` (escape.ts): `core.info` prints
 * its text as it is; `core.warning` and `core.setFailed` escape only what the runner's command
 * syntax needs (`%`, CR, LF), so the other control characters (ESC above all) are escaped here.
 */
import * as core from '@actions/core'
import { logLine } from './escape.js'

export function info(text: string): void {
  core.info(logLine(text))
}

export function debug(text: string): void {
  core.debug(logLine(text))
}

export function warning(text: string): void {
  core.warning(logLine(text))
}

/** `core.setFailed`: exit code 1 and an error annotation. */
export function fail(text: string): void {
  core.setFailed(logLine(text))
}
