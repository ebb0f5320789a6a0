import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createWorkDir, removeWorkDir, writePrivateFile } from '../src/run/workspace.js'

let temp: string
beforeEach(() => {
  temp = mkdtempSync(join(tmpdir(), 'rr-ws-'))
})
afterEach(() => rmSync(temp, { recursive: true, force: true }))

describe('workspace', () => {
  it('creates a private directory and private files', async () => {
    const dir = await createWorkDir(temp)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const f = join(dir, 'values.yaml')
    writeFileSync(f, 'old', { mode: 0o644 })
    await writePrivateFile(f, 'hostname: x\n')
    expect(statSync(f).mode & 0o777).toBe(0o600)
  })
  it('the post step removes its own directory and nothing else', async () => {
    const dir = await createWorkDir(temp)
    writeFileSync(join(dir, 'kubeconfig'), 'x')
    const other = join(temp, 'user-data')
    mkdirSync(other)
    expect(await removeWorkDir(other, temp)).toBe(false)
    expect(await removeWorkDir('/etc', temp)).toBe(false)
    expect(
      await removeWorkDir(join(dir, '..', 'rancher-rollback-x', '..', 'user-data'), temp)
    ).toBe(false)
    expect(await removeWorkDir('', temp)).toBe(false)
    expect(existsSync(other)).toBe(true)
    expect(await removeWorkDir(dir, temp)).toBe(true)
    expect(existsSync(dir)).toBe(false)
  })
})
