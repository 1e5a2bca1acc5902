// Identity and audit: sessions (so every API replica sees them), API tokens (hashes only), PKCE
// login states of the browser flow, and the audit log of mutating requests. Timestamps are BIGINT
// milliseconds, as in 002.
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';

const ID = 'varchar(36)';
const NAME = 'varchar(255)';
const HASH = 'varchar(64)'; // hex SHA-256

export async function up(db: Kysely<unknown>, kit: DialectKit): Promise<void> {
  const table = (name: string) => {
    const t = db.schema.createTable(name);
    return (kit.tableOptions ? t.modifyEnd(kit.tableOptions) : t) as CreateTableBuilder<string, never>;
  };

  // The cookie carries a random value; only its hash is stored, so a database dump logs nobody in.
  await table('sessions')
    .addColumn('id_hash', HASH, (c) => c.primaryKey())
    .addColumn('user_id', NAME, (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull()) // JSON string[]
    .addColumn('via', NAME, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();

  await table('api_tokens')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('token_hash', HASH, (c) => c.notNull().unique())
    .addColumn('user_id', NAME, (c) => c.notNull())
    .addColumn('name', NAME, (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull()) // JSON string[]: the creator's groups when created
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').columns(['user_id', 'created_at']).execute();

  await table('login_states')
    .addColumn('state_hash', HASH, (c) => c.primaryKey())
    .addColumn('code_verifier', NAME, (c) => c.notNull())
    .addColumn('nonce', NAME, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  // id sorts by time (zero-padded milliseconds, then random), so keyset paging on it is chronological.
  await table('audit_log')
    .addColumn('id', NAME, (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('user_id', NAME, (c) => c.notNull())
    .addColumn('via', NAME, (c) => c.notNull())
    .addColumn('method', 'varchar(16)', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('route', NAME, (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
    .addColumn('ip', NAME, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_user_idx').on('audit_log').columns(['user_id', 'id']).execute();
}
