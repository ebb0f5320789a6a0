/** What the main step hands to the post step (actions/checkout's state-helper pattern). */
import * as core from '@actions/core'

const WORK_DIR = 'workDir'

export function saveWorkDir(path: string): void {
  core.saveState(WORK_DIR, path)
}

export function workDir(): string {
  return core.getState(WORK_DIR)
}

const LOCK = 'lock'

/** What the post step needs to give back a lock main still holds (cancelled, killed). */
export interface LockState {
  holder: string
  kubectlPath: string
  kubeconfigPath?: string
  context?: string
}

export function saveLockState(state: LockState): void {
  core.saveState(LOCK, JSON.stringify(state))
}

export function lockState(): LockState | undefined {
  const raw = core.getState(LOCK)
  if (raw === '') return undefined
  try {
    return JSON.parse(raw) as LockState
  } catch {
    return undefined
  }
}
