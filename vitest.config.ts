import { defineConfig, configDefaults } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The suites that need more of the machine run apart: `npm run test:nspawn` (real containers)
    // and `npm run test:openstack` (the OpenStack testbed). Excluded here rather than skipped, so
    // that under CI=true a skip always means a missing requirement (test/helpers/requirements.ts).
    exclude: [...configDefaults.exclude, 'test/nspawn/**', 'test/openstack-live/**'],
    // API suites open real databases; one file at a time keeps the 2-core machine responsive.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
