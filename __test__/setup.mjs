// Per-test process bookkeeping for every test file: a fresh pid folder before each test, and
// after it every manager is disposed and every process a runner recorded must be gone (any
// survivor is killed by pid and fails the test).
import { beforeEach, afterEach, expect } from 'vitest'
import { setupPids, teardown } from './helpers.mjs'

beforeEach(() => {
  setupPids()
})

afterEach(async () => {
  expect(await teardown(), 'processes left alive after the test').toEqual([])
})
