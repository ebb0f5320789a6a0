/** The post step: removes the directory main wrote (kubeconfig, saved values and Secrets), nothing else. */
import * as core from '@actions/core'
import { workDir } from './run/state-helper.js'
import { removeWorkDir } from './run/workspace.js'

export async function cleanup(): Promise<void> {
  const dir = workDir()
  try {
    if (await removeWorkDir(dir)) core.info(`Removed ${dir}.`)
  } catch (e) {
    core.warning(`Could not remove ${dir}: ${(e as Error).message}`)
  }
}
