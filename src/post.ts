/**
 * The post step (`post-if: always()`): gives back a lock main still holds, because main was
 * cancelled or killed before its own release; then removes the directory main wrote (kubeconfig,
 * tools, saved values and Secrets), nothing else.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ExecCommandRunner } from './kube/exec-command-runner.js'
import { info, warning } from './report/log.js'
import { releaseCommands, releaseIfHeld } from './run/lock-release.js'
import { lockState, workDir } from './run/state-helper.js'
import { removeWorkDir } from './run/workspace.js'

export async function cleanup(): Promise<void> {
  const lock = lockState()
  const dir = workDir()
  if (lock && existsSync(lock.kubectlPath)) {
    const runner = new ExecCommandRunner({
      kubectlPath: lock.kubectlPath,
      helmPath: '',
      kubeconfigPath: lock.kubeconfigPath,
      context: lock.context,
      maxAttempts: 2,
      log: info,
      ...(dir !== '' && existsSync(dir) ? { apiSocketPath: join(dir, 'post-api.sock') } : {})
    })
    try {
      info(`Lock: ${await releaseIfHeld(runner, releaseCommands(), lock.holder, new Date())}`)
    } finally {
      await runner.close()
    }
  }
  try {
    if (await removeWorkDir(dir)) info(`Removed ${dir}.`)
  } catch (e) {
    warning(`Could not remove ${dir}: ${(e as Error).message}`)
  }
}
