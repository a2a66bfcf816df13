import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { initAuthCreds, proto } from "@whiskeysockets/baileys";
import { describe, expect, it } from "vitest";
import { SqliteAuthStore } from "../src/store/auth-store.js";
import { openDb } from "../src/store/db.js";
import { tempDir } from "./helpers/config.js";

function freshStore() {
  const dataDir = tempDir();
  const db = openDb({ dataDir, synchronous: "NORMAL" });
  return { dataDir, db, store: new SqliteAuthStore(db) };
}

describe("SQLite auth store", () => {
  it("round-trips creds and keys with their Buffers intact", async () => {
    const { store } = freshStore();
    const { state, saveCreds } = store.load(1);
    expect(Buffer.isBuffer(state.creds.noiseKey.private)).toBe(true);
    state.creds.me = { id: "972501234567:5@s.whatsapp.net", name: "Shop" };
    saveCreds();

    const reloaded = store.load(1).state.creds;
    expect(reloaded.me?.id).toBe("972501234567:5@s.whatsapp.net");
    expect(Buffer.isBuffer(reloaded.noiseKey.private)).toBe(true);
    expect(Buffer.compare(reloaded.noiseKey.private, state.creds.noiseKey.private)).toBe(0);
    expect(Buffer.compare(reloaded.signedIdentityKey.public, state.creds.signedIdentityKey.public)).toBe(0);
    expect(reloaded.registrationId).toBe(state.creds.registrationId);

    const keyPair = { public: Buffer.from([1, 2, 3]), private: Buffer.from([4, 5, 6]) };
    await state.keys.set({ "pre-key": { "7": keyPair }, session: { "a@s.whatsapp.net": Buffer.from("sess") } });
    const got = await state.keys.get("pre-key", ["7", "8"]);
    expect(Object.keys(got)).toEqual(["7"]);
    expect(Buffer.isBuffer(got["7"]!.public)).toBe(true);
    expect([...got["7"]!.private]).toEqual([4, 5, 6]);
    const sessions = await state.keys.get("session", ["a@s.whatsapp.net"]);
    expect(Buffer.from(sessions["a@s.whatsapp.net"]!).toString()).toBe("sess");
  });

  it("revives app-state-sync-key as the protobuf Baileys expects", async () => {
    const { store } = freshStore();
    const keys = store.keyStore(1);
    const data = proto.Message.AppStateSyncKeyData.fromObject({
      keyData: Buffer.from("key-data"),
      timestamp: 1700000000,
    });
    await keys.set({ "app-state-sync-key": { AAEC: data } });
    const got = (await keys.get("app-state-sync-key", ["AAEC"])).AAEC!;
    expect(got).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(got.keyData!).toString()).toBe("key-data");
  });

  it("deletes a key set to null and leaves the rest", async () => {
    const { store } = freshStore();
    const keys = store.keyStore(1);
    await keys.set({ "sender-key": { x: Buffer.from("1"), y: Buffer.from("2") } });
    await keys.set({ "sender-key": { x: null } });
    expect(Object.keys(await keys.get("sender-key", ["x", "y"]))).toEqual(["y"]);
  });

  it("keeps businesses apart, and wiping one leaves the other", async () => {
    const { store } = freshStore();
    const a = store.load(1);
    const b = store.load(2);
    expect(Buffer.compare(a.state.creds.noiseKey.private, b.state.creds.noiseKey.private)).not.toBe(0);
    await a.state.keys.set({ session: { same: Buffer.from("A") } });
    await b.state.keys.set({ session: { same: Buffer.from("B") } });
    expect(Buffer.from((await a.state.keys.get("session", ["same"])).same!).toString()).toBe("A");
    expect(Buffer.from((await b.state.keys.get("session", ["same"])).same!).toString()).toBe("B");

    store.wipe(1);
    expect(store.hasCreds(1)).toBe(false);
    expect(await a.state.keys.get("session", ["same"])).toEqual({});
    expect(store.hasCreds(2)).toBe(true);
    expect(Buffer.from((await b.state.keys.get("session", ["same"])).same!).toString()).toBe("B");
  });

  it("reads more ids than SQLite allows in one statement", async () => {
    const { store } = freshStore();
    const keys = store.keyStore(1);
    const many: Record<string, Uint8Array> = {};
    for (let i = 0; i < 1200; i++) many[String(i)] = Buffer.from([i % 256]);
    await keys.set({ session: many });
    const got = await keys.get("session", Object.keys(many));
    expect(Object.keys(got)).toHaveLength(1200);
  });

  it("a process killed mid-write leaves whole batches only (one transaction per keys.set)", async () => {
    const { dataDir, db } = freshStore();
    db.close();
    const script = fileURLToPath(new URL("./fixtures/auth-writer.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script, dataDir, "9"], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["ignore", "pipe", "inherit"],
    });
    // Let it commit a good number of batches, then kill it without warning at an arbitrary moment.
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (/gen (\d{3,})/.test(out)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`writer exited early (${code})`)));
    });
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));

    const reopened = openDb({ dataDir, synchronous: "NORMAL" });
    const rows = reopened.prepare("SELECT type, id FROM auth_keys WHERE business_id = 9").all() as {
      type: string;
      id: string;
    }[];
    const generations = new Set(rows.map((r) => r.id.split("-")[0]));
    // Exactly one generation survives, complete in both types: never half a batch.
    expect(generations.size).toBe(1);
    expect(rows.filter((r) => r.type === "pre-key")).toHaveLength(20);
    expect(rows.filter((r) => r.type === "session")).toHaveLength(20);
    expect(Number([...generations][0])).toBeGreaterThanOrEqual(100);
    expect(reopened.pragma("integrity_check", { simple: true })).toBe("ok");
    reopened.close();
  });

  it("stores fresh creds from initAuthCreds exactly once per business", () => {
    const { store, db } = freshStore();
    const first = store.load(5).state.creds;
    const second = store.load(5).state.creds;
    expect(second.advSecretKey).toBe(first.advSecretKey);
    expect((db.prepare("SELECT COUNT(*) AS n FROM auth_creds").get() as { n: number }).n).toBe(1);
    expect(initAuthCreds().advSecretKey).not.toBe(first.advSecretKey);
  });
});
