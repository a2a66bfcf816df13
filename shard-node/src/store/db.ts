/**
 * The shard's one SQLite database on its volume: auth state, the event outbox, session records,
 * fencing tokens and idempotency keys live together so a single transaction can cover any of them.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

export type Db = Database.Database;

const MIGRATIONS: string[] = [
  `
  CREATE TABLE auth_creds (
    business_id INTEGER PRIMARY KEY,
    creds TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE auth_keys (
    business_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (business_id, type, id)
  ) WITHOUT ROWID;
  CREATE TABLE sessions (
    business_id INTEGER PRIMARY KEY,
    desired TEXT NOT NULL CHECK (desired IN ('running', 'stopped')),
    fencing_token INTEGER,
    state TEXT NOT NULL,
    reason TEXT,
    status_code INTEGER,
    phone_number TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id INTEGER NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX outbox_business_seq ON outbox (business_id, seq);
  CREATE TABLE idempotency (
    business_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    boot_id TEXT NOT NULL,
    message_id TEXT,
    chat_jid TEXT,
    sent_at TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (business_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX idempotency_created ON idempotency (created_at);
  `,
  // The dead lane: events the edge refused (4xx) again and again, parked so the business's later
  // events can move on. Kept for an operator to read (and replay by moving a row back).
  `
  CREATE TABLE outbox_dead (
    seq INTEGER PRIMARY KEY,
    business_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    parked_at INTEGER NOT NULL,
    refusals INTEGER NOT NULL,
    last_status INTEGER NOT NULL,
    last_error TEXT NOT NULL
  );
  CREATE INDEX outbox_dead_business ON outbox_dead (business_id, seq);
  `,
];

export interface OpenDbOptions {
  dataDir: string;
  synchronous: "FULL" | "NORMAL";
  fileName?: string;
}

export function openDb(opts: OpenDbOptions): Db {
  mkdirSync(opts.dataDir, { recursive: true });
  const db = new Database(join(opts.dataDir, opts.fileName ?? "shard.sqlite"));
  // WAL: readers never block the writer and a commit is one append; with synchronous=FULL each
  // commit is fsynced, so an acknowledged outbox row survives even a power cut.
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${opts.synchronous}`);
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
