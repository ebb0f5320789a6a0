/**
 * The only files the action writes: one private directory under RUNNER_TEMP holding the
 * kubeconfig, the saved values and the saved Secrets. The post step removes exactly that directory.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'

const WORK_DIR_PREFIX = 'rancher-rollback-'

export async function createWorkDir(
  runnerTemp = process.env.RUNNER_TEMP || tmpdir()
): Promise<string> {
  const dir = await mkdtemp(join(runnerTemp, WORK_DIR_PREFIX))
  await chmod(dir, 0o700)
  return dir
}

export async function writePrivateFile(path: string, content: string): Promise<void> {
  // mode applies on creation only; chmod covers a file left by an earlier attempt.
  await writeFile(path, content, { mode: 0o600 })
  await chmod(path, 0o600)
}

export const readPrivateFile = (path: string): Promise<string> => readFile(path, 'utf8')

/** Removes the work directory, and refuses anything that is not one of ours. */
export async function removeWorkDir(
  dir: string,
  runnerTemp = process.env.RUNNER_TEMP || tmpdir()
): Promise<boolean> {
  if (!dir) return false
  const full = resolve(dir)
  if (dirname(full) !== resolve(runnerTemp) || !basename(full).startsWith(WORK_DIR_PREFIX)) {
    return false
  }
  await rm(full, { recursive: true, force: true })
  return true
}
