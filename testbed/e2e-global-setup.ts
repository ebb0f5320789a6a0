/** vitest globalSetup of the e2e suite: make sure every testbed binary is there. */
import { prepare } from './prepare.js'

export async function setup(): Promise<void> {
  await prepare()
}
