import { defineConfig } from 'vitest/config';

// `npm run test:nspawn`: real containers and Ansible runs (root, systemd-container, debootstrap,
// apt-cacher-ng, ansible). Minutes per test, one file at a time.
export default defineConfig({
  test: {
    include: ['test/nspawn/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
