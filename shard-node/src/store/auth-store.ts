/**
 * Baileys auth state on SQLite, per business: creds in one row, signal keys in another table, both
 * in the shard's database. `keys.set` writes its whole batch in one transaction, so a crash leaves
 * either all of a batch or none of it (never a session without its pre-key). Values are serialised
 * with Baileys' BufferJSON so Buffers survive the round trip.
 */
import {
  type AuthenticationCreds,
  type AuthenticationState,
  BufferJSON,
  initAuthCreds,
  proto,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from "@whiskeysockets/baileys";
import type { Db } from "./db.js";

const MAX_IDS_PER_QUERY = 500;

export interface BusinessAuthState {
  state: AuthenticationState;
  /** Persists the current creds object (call on every `creds.update`). */
  saveCreds(): void;
}

export class SqliteAuthStore {
  private readonly selectCreds;
  private readonly upsertCreds;
  private readonly upsertKey;
  private readonly deleteKey;
  private readonly deleteAllKeys;
  private readonly deleteCreds;
  private readonly countCreds;

  constructor(private readonly db: Db) {
    this.selectCreds = db.prepare<[number], { creds: string }>("SELECT creds FROM auth_creds WHERE business_id = ?");
    this.upsertCreds = db.prepare<[number, string, number]>(
      `INSERT INTO auth_creds (business_id, creds, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (business_id) DO UPDATE SET creds = excluded.creds, updated_at = excluded.updated_at`,
    );
    this.upsertKey = db.prepare<[number, string, string, string]>(
      `INSERT INTO auth_keys (business_id, type, id, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (business_id, type, id) DO UPDATE SET value = excluded.value`,
    );
    this.deleteKey = db.prepare<[number, string, string]>(
      "DELETE FROM auth_keys WHERE business_id = ? AND type = ? AND id = ?",
    );
    this.deleteAllKeys = db.prepare<[number]>("DELETE FROM auth_keys WHERE business_id = ?");
    this.deleteCreds = db.prepare<[number]>("DELETE FROM auth_creds WHERE business_id = ?");
    this.countCreds = db.prepare<[number], { n: number }>("SELECT COUNT(*) AS n FROM auth_creds WHERE business_id = ?");
  }

  /** True when this business has stored creds (it may or may not be paired yet). */
  hasCreds(businessId: number): boolean {
    return (this.countCreds.get(businessId)?.n ?? 0) > 0;
  }

  readCreds(businessId: number): AuthenticationCreds | undefined {
    const row = this.selectCreds.get(businessId);
    return row ? (JSON.parse(row.creds, BufferJSON.reviver) as AuthenticationCreds) : undefined;
  }

  writeCreds(businessId: number, creds: AuthenticationCreds): void {
    this.upsertCreds.run(businessId, JSON.stringify(creds, BufferJSON.replacer), Date.now());
  }

  /** Loads (or creates and stores) the business's auth state. */
  load(businessId: number): BusinessAuthState {
    let creds = this.readCreds(businessId);
    if (!creds) {
      creds = initAuthCreds();
      this.writeCreds(businessId, creds);
    }
    const state: AuthenticationState = { creds, keys: this.keyStore(businessId) };
    return { state, saveCreds: () => this.writeCreds(businessId, state.creds) };
  }

  keyStore(businessId: number): SignalKeyStore {
    return {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) =>
        this.getKeys(businessId, type, ids) as { [id: string]: SignalDataTypeMap[T] },
      set: async (data: SignalDataSet) => this.setKeys(businessId, data),
    };
  }

  getKeys<T extends keyof SignalDataTypeMap>(
    businessId: number,
    type: T,
    ids: string[],
  ): { [id: string]: SignalDataTypeMap[T] } {
    const out: { [id: string]: SignalDataTypeMap[T] } = {};
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_QUERY);
      const rows = this.db
        .prepare<unknown[], { id: string; value: string }>(
          `SELECT id, value FROM auth_keys WHERE business_id = ? AND type = ? AND id IN (${chunk.map(() => "?").join(",")})`,
        )
        .all(businessId, type, ...chunk);
      for (const row of rows) {
        let value = JSON.parse(row.value, BufferJSON.reviver);
        if (type === "app-state-sync-key" && value) {
          value = proto.Message.AppStateSyncKeyData.fromObject(value);
        }
        out[row.id] = value as SignalDataTypeMap[T];
      }
    }
    return out;
  }

  /** One transaction per batch; a `null`/`undefined` value deletes the key. */
  setKeys(businessId: number, data: SignalDataSet): void {
    this.db.transaction(() => {
      for (const [type, entries] of Object.entries(data)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          if (value === null || value === undefined) this.deleteKey.run(businessId, type, id);
          else this.upsertKey.run(businessId, type, id, JSON.stringify(value, BufferJSON.replacer));
        }
      }
    })();
  }

  /** Forgets everything about this business's WhatsApp identity (after a 401 or a logout). */
  wipe(businessId: number): void {
    this.db.transaction(() => {
      this.deleteAllKeys.run(businessId);
      this.deleteCreds.run(businessId);
    })();
  }
}
