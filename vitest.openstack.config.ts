// `npm run test:openstack`: the suites that need the real OpenStack testbed (test/openstack-live/),
// kept out of the default run. The testbed is slow and shared: one file at a time, long timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/openstack-live/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 15 * 60_000,
    hookTimeout: 10 * 60_000,
  },
});
