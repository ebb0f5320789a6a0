/** What the main step hands to the post step (actions/checkout's state-helper pattern). */
import * as core from '@actions/core'

const WORK_DIR = 'workDir'

export function saveWorkDir(path: string): void {
  core.saveState(WORK_DIR, path)
}

export function workDir(): string {
  return core.getState(WORK_DIR)
}
