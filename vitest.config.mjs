import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.test.mjs'],
    pool: 'forks',
    globalSetup: ['__test__/global-setup.mjs'],
    setupFiles: ['__test__/setup.mjs'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    reporters: ['default', 'hanging-process'],
  },
})
