import { defineConfig } from 'vitest/config'

// End-to-end suite: a real Kubernetes 1.20 control plane (testbed/cluster/cluster.ts) with real
// kubectl and helm. Run: npx vitest run --config vitest.e2e.config.ts (globalSetup prepares
// binaries).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    globalSetup: ['testbed/e2e-global-setup.ts']
  }
})
