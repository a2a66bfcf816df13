/**
 * The real Baileys socket against a local fake WhatsApp server (test/helpers/fake-wa-server.ts):
 * Noise handshake, registration → QR, a phone's pair-success → 515 restart → login → open, restore
 * after a shard restart, transient drops with backoff, and 401 logged out wiping the auth state.
 * Driven through the shard's HTTP API, as the edge would.
 */
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { createShard, type Shard } from "../src/shard.js";
import { TEST_SECRET, tempDir, testConfig } from "./helpers/config.js";
import { type FakeWaConnection, type FakeWaServer, startFakeWaServer, waitFor } from "./helpers/fake-wa-server.js";

const auth = { authorization: `Bearer ${TEST_SECRET}` };
const PHONE = "972501234567";

let server: FakeWaServer | undefined;
const shards: Shard[] = [];

afterEach(async () => {
  for (const shard of shards.splice(0)) await shard.shutdown().catch(() => {});
  await server?.close();
  server = undefined;
});

function baileysShard(url: string, dataDir: string): Shard {
  const shard = createShard(
    testConfig({ SHARD_SESSION_DRIVER: "baileys", WA_WEBSOCKET_URL: url, SHARD_DATA_DIR: dataDir }),
  );
  shards.push(shard);
  return shard;
}

async function getSession(shard: Shard, businessId: number) {
  const res = await shard.app.request(`/sessions/${businessId}`, { headers: auth });
  return (await res.json()) as Record<string, unknown>;
}

function connectionStatesInOutbox(shard: Shard, businessId: number): string[] {
  return shard.outbox
    .peek(businessId, 1000)
    .map((r) => JSON.parse(r.payload))
    .filter((e) => e.type === "connection.update")
    .map((e) => e.state as string);
}

describe("the fake WhatsApp server", () => {
  it("signs a certificate chain that a strict verifier accepts against the test root key", async () => {
    // Baileys 7.0.0-rc14's Curve.verify ignores libsignal's boolean result (any well-formed
    // signature passes), so its own check cannot vouch for our chain: verify it strictly here,
    // so the fake stays valid when Baileys fixes that.
    const curve = createRequire(import.meta.url)("libsignal/src/curve.js") as {
      verifySignature(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
    };
    const { proto, WA_CERT_DETAILS } = await import("@whiskeysockets/baileys");
    const { certChainForTest } = await import("./helpers/fake-wa-server.js");
    const { chain, root, serverStatic } = certChainForTest();
    const decoded = proto.CertChain.decode(chain);
    const prefixed = (key: Uint8Array) => Buffer.concat([Buffer.from([5]), key]);
    const intermediate = proto.CertChain.NoiseCertificate.Details.decode(decoded.intermediate!.details!);
    expect(
      curve.verifySignature(prefixed(root.public), decoded.intermediate!.details!, decoded.intermediate!.signature!),
    ).toBe(true);
    expect(curve.verifySignature(prefixed(intermediate.key!), decoded.leaf!.details!, decoded.leaf!.signature!)).toBe(
      true,
    );
    expect(intermediate.issuerSerial).toBe(WA_CERT_DETAILS.SERIAL);
    const leaf = proto.CertChain.NoiseCertificate.Details.decode(decoded.leaf!.details!);
    expect(Buffer.from(leaf.key!).equals(serverStatic.public)).toBe(true);
    // The same strict check refuses the intermediate against any other root key.
    const { Curve } = await import("@whiskeysockets/baileys");
    expect(
      curve.verifySignature(
        prefixed(Curve.generateKeyPair().public),
        decoded.intermediate!.details!,
        decoded.intermediate!.signature!,
      ),
    ).toBe(false);
  });
});

describe("Baileys session against a fake WhatsApp server", () => {
  it("shows a QR, pairs when the phone scans it, restarts on 515 and opens; a shard restart logs straight in", async () => {
    // The script: a new device gets QR refs; a known device is let in.
    server = await startFakeWaServer({
      onClient: (conn) => {
        if (conn.isLogin) conn.sendSuccess();
        else conn.sendPairDevice(["ref-one", "ref-two"]);
      },
    });
    const dataDir = tempDir();
    const shard = baileysShard(server.url, dataDir);

    const start = await shard.app.request("/sessions/41/start", { method: "POST", headers: auth });
    expect(start.status).toBe(200);

    const withQr = await waitFor(async () => {
      const s = await getSession(shard, 41);
      return s.state === "qr" ? s : undefined;
    }, 15_000);
    expect(withQr.qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#ref-one,/);
    expect(withQr.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    // A new device registers (no username in its payload).
    expect(server.connections[0]!.isLogin).toBe(false);

    // The phone scans: pair-success, then WhatsApp asks for a restart (515).
    const first = server.connections[0]!;
    first.sendPairSuccess(withQr.qr as string, PHONE);
    await first.waitForNode(
      (n) => n.tag === "iq" && Array.isArray(n.content) && n.content[0]?.tag === "pair-device-sign",
    );
    first.sendStreamError(515);

    const open = await waitFor(async () => {
      const s = await getSession(shard, 41);
      return s.state === "open" ? s : undefined;
    }, 15_000);
    expect(open.phoneNumber).toBe(PHONE);
    // The second connection logged in with the paired identity.
    const login = server.connections[1]!;
    expect(login.isLogin).toBe(true);
    expect(String(login.payload.username)).toBe(PHONE);
    expect(shard.manager.view(41)?.state).toBe("open");
    // Creds (with `me`) and the pre-keys Baileys uploaded after login are in the store.
    const creds = shard.db.prepare("SELECT creds FROM auth_creds WHERE business_id = 41").get() as { creds: string };
    expect(JSON.parse(creds.creds).me.id).toBe(`${PHONE}:5@s.whatsapp.net`);
    await waitFor(() => {
      const row = shard.db
        .prepare("SELECT COUNT(*) AS n FROM auth_keys WHERE business_id = 41 AND type = 'pre-key'")
        .get() as { n: number };
      return row.n > 0;
    });
    expect(connectionStatesInOutbox(shard, 41)).toEqual(["connecting", "qr", "connecting", "open"]);

    // Shard restart: the session is restored from the store and logs in without a QR.
    await shard.shutdown();
    const connectionsBefore = server.connections.length;
    const restarted = baileysShard(server.url, dataDir);
    const { restored } = await restarted.start();
    expect(restored).toBe(1);
    await waitFor(async () => (await getSession(restarted, 41)).state === "open", 15_000);
    const relogin = server.connections[connectionsBefore]!;
    expect(relogin.isLogin).toBe(true);
    expect(String(relogin.payload.username)).toBe(PHONE);
  });

  it("reconnects with backoff after the connection drops, and wipes the auth state on 401", async () => {
    let dropFirstLogin = true;
    let loginConn: FakeWaConnection | undefined;
    server = await startFakeWaServer({
      onClient: (conn) => {
        if (!conn.isLogin) {
          conn.sendPairDevice(["ref-a"]);
          return;
        }
        if (dropFirstLogin) {
          dropFirstLogin = false;
          conn.terminate();
          return;
        }
        loginConn = conn;
        conn.sendSuccess();
      },
    });
    const shard = baileysShard(server.url, tempDir());
    await shard.app.request("/sessions/42/start", { method: "POST", headers: auth });
    const qr = await waitFor(async () => {
      const s = await getSession(shard, 42);
      return s.state === "qr" ? (s.qr as string) : undefined;
    }, 15_000);
    server.connections[0]!.sendPairSuccess(qr, PHONE);
    await server.connections[0]!.waitForNode(
      (n) => n.tag === "iq" && Array.isArray(n.content) && n.content[0]?.tag === "pair-device-sign",
    );
    server.connections[0]!.sendStreamError(515);

    // The first login is dropped without a word: the shard backs off and tries again.
    const open = await waitFor(async () => {
      const s = await getSession(shard, 42);
      return s.state === "open" ? s : undefined;
    }, 15_000);
    expect(open.reconnectAttempts).toBe(0);
    const states = connectionStatesInOutbox(shard, 42);
    expect(states).toContain("closed");
    expect(states.at(-1)).toBe("open");
    const closedEvent = shard.outbox
      .peek(42, 1000)
      .map((r) => JSON.parse(r.payload))
      .find((e) => e.type === "connection.update" && e.state === "closed");
    expect(closedEvent.reason).toMatch(/reconnecting in/);

    // The phone unlinks the device: 401. Credentials are wiped and the session stops.
    loginConn!.sendStreamError(401);
    const loggedOut = await waitFor(async () => {
      const s = await getSession(shard, 42);
      return s.state === "logged_out" ? s : undefined;
    }, 10_000);
    expect(loggedOut.statusCode).toBe(401);
    expect(loggedOut.reason).toBe("logged out (401)");
    const left = shard.db.prepare("SELECT COUNT(*) AS n FROM auth_keys WHERE business_id = 42").get() as { n: number };
    const creds = shard.db.prepare("SELECT COUNT(*) AS n FROM auth_creds WHERE business_id = 42").get() as {
      n: number;
    };
    expect(left.n + creds.n).toBe(0);
    // It is not restored at the next boot.
    expect(shard.manager.size).toBe(0);
    const connections = server.connections.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(server.connections.length).toBe(connections);
  });

  it("pairs by code instead of QR when the edge gives a phone number", async () => {
    server = await startFakeWaServer({ onClient: (conn) => conn.sendPairDevice(["ref-code"]) });
    const shard = baileysShard(server.url, tempDir());
    const res = await shard.app.request("/sessions/43/start", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ pairingPhoneNumber: PHONE }),
    });
    expect(res.status).toBe(200);
    const withCode = await waitFor(async () => {
      const s = await getSession(shard, 43);
      return s.pairingCode ? s : undefined;
    }, 15_000);
    expect(withCode.state).toBe("qr");
    expect(withCode.pairingCode).toMatch(/^[A-Z0-9]{8}$/);
    expect(withCode.qr).toBeUndefined();
    // Baileys asked WhatsApp to push the code to that phone.
    const reg = await server.connections[0]!.waitForNode(
      (n) => n.tag === "iq" && Array.isArray(n.content) && n.content[0]?.tag === "link_code_companion_reg",
    );
    const child = (reg.content as { attrs: Record<string, string> }[])[0]!;
    expect(child.attrs.jid).toBe(`${PHONE}@s.whatsapp.net`);
  });
});
