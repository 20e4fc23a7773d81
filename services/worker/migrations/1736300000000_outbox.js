// The transactional outbox's table, as @cupo/outbox defines it (packages/outbox/src/migration.ts):
// one definition for every service that keeps an outbox.
import { outboxMigration } from '@cupo/outbox';

export const { up, down } = outboxMigration;
