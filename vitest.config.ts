import { defineConfig } from 'vitest/config';

/**
 * unit: domain rules, no I/O. integration: one adapter against the real PostgreSQL, Redis
 * or RabbitMQ, isolated by random names. system: the real processes (several replicas)
 * on a stack of their own — own databases, vhost and Redis key prefix — broken on purpose.
 *
 * Files run one at a time: system stacks are heavy on a 2-core machine, and timing-based
 * fault injection should not compete with another file's load.
 */
export default defineConfig({
  test: {
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'system',
          include: ['tests/system/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
