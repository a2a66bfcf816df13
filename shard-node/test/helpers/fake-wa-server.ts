/**
 * A local stand-in for WhatsApp's WebSocket server, built from Baileys' own exports, so the real
 * Baileys socket code (Noise handshake, login/registration payloads, QR, pairing, stream errors)
 * runs against it over loopback.
 *
 * Baileys checks the server's certificate chain against `WA_CERT_DETAILS.PUBLIC_KEY`. That is an
 * exported mutable object: `installTestRootKey()` replaces it with a key this server owns, in the
 * process that runs Baileys (only in tests).
 *
 * Scripting: every connection completes the Noise handshake and reads the client's payload; then
 * `onClient` decides what happens (send `pair-device` for a QR, `success` to open, a stream error,
 * a close). Common iq queries Baileys makes after login are answered so it never waits on a timeout.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  aesDecryptGCM,
  aesEncryptGCM,
  type BinaryNode,
  Curve,
  decodeBinaryNode,
  encodeBinaryNode,
  getBinaryNodeChild,
  hkdf,
  hmacSign,
  NOISE_MODE,
  NOISE_WA_HEADER,
  proto,
  sha256,
  WA_CERT_DETAILS,
} from "@whiskeysockets/baileys";
import { type WebSocket, WebSocketServer } from "ws";

type KeyPair = { private: Buffer; public: Buffer };

const keyPair = (): KeyPair => {
  const pair = Curve.generateKeyPair();
  return { private: Buffer.from(pair.private), public: Buffer.from(pair.public) };
};

let rootKey: KeyPair | undefined;

/** Points Baileys' certificate check at a root key this test process owns. Idempotent. */
export function installTestRootKey(): KeyPair {
  if (!rootKey) {
    const root = keyPair();
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(root.public) as typeof WA_CERT_DETAILS.PUBLIC_KEY;
    rootKey = root;
  }
  return rootKey;
}

const ivFor = (counter: number): Buffer => {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
};

/** The server half of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake, mirroring noise-handler.ts. */
class ServerNoise {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private transport: { enc: Buffer; dec: Buffer; readCounter: number; writeCounter: number } | undefined;

  constructor() {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.byteLength === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
  }

  authenticate(data: Uint8Array): void {
    if (!this.transport) this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  mixIntoKey(data: Uint8Array): void {
    const out = Buffer.from(hkdf(Buffer.from(data), 64, { salt: this.salt, info: "" }));
    this.salt = out.subarray(0, 32);
    this.key = out.subarray(32);
    this.counter = 0;
  }

  encrypt(plaintext: Uint8Array): Buffer {
    if (this.transport)
      return aesEncryptGCM(plaintext, this.transport.enc, ivFor(this.transport.writeCounter++), Buffer.alloc(0));
    const out = aesEncryptGCM(plaintext, this.key, ivFor(this.counter++), this.hash);
    this.authenticate(out);
    return out;
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    if (this.transport)
      return aesDecryptGCM(ciphertext, this.transport.dec, ivFor(this.transport.readCounter++), Buffer.alloc(0));
    const out = aesDecryptGCM(ciphertext, this.key, ivFor(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return out;
  }

  /** The client encrypts with the first half and decrypts with the second; the server the other way round. */
  finish(): void {
    const out = Buffer.from(hkdf(Buffer.alloc(0), 64, { salt: this.salt, info: "" }));
    this.transport = { enc: out.subarray(32), dec: out.subarray(0, 32), readCounter: 0, writeCounter: 0 };
  }
}

export interface FakeWaConnection {
  readonly index: number;
  /** The decoded ClientPayload: `username` is set on login, `devicePairingData` on registration. */
  readonly payload: proto.ClientPayload;
  readonly isLogin: boolean;
  /** Nodes the client sent after the handshake. */
  readonly received: BinaryNode[];
  sendNode(node: BinaryNode): void;
  /** QR flow: asks the client to show QR codes for these refs. */
  sendPairDevice(refs: string[]): void;
  /** Plays the phone scanning the QR: a valid, signed pair-success for `phoneNumber`. */
  sendPairSuccess(qr: string, phoneNumber: string, device?: number): void;
  /** Login accepted: the client reports the connection open. */
  sendSuccess(): void;
  /** `<stream:error code="..."/>`: 401 logged out, 515 restart required, ... */
  sendStreamError(code: number): void;
  /** Drops the WebSocket without a goodbye. */
  terminate(): void;
  waitForNode(predicate: (node: BinaryNode) => boolean, timeoutMs?: number): Promise<BinaryNode>;
}

export interface FakeWaServer {
  url: string;
  connections: FakeWaConnection[];
  close(): Promise<void>;
}

const S_WHATSAPP_NET = "s.whatsapp.net";

/** Builds the certificate chain Baileys verifies: root → intermediate → leaf (our static key). */
function certChain(root: KeyPair, serverStatic: KeyPair): Uint8Array {
  const intermediate = keyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: WA_CERT_DETAILS.SERIAL,
    key: intermediate.public,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStatic.public,
  }).finish();
  return proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
}

/** The chain the server presents, exposed so a test can verify it strictly. */
export function certChainForTest(): { chain: Uint8Array; root: KeyPair; serverStatic: KeyPair } {
  const root = installTestRootKey();
  const serverStatic = keyPair();
  return { chain: certChain(root, serverStatic), root, serverStatic };
}

/**
 * Answers the iq queries Baileys sends around login, so none of them waits for a timeout.
 * `preKeyCount` is what the server claims to hold: 0 makes Baileys upload a fresh batch (812).
 */
function autoReply(node: BinaryNode, preKeyCount: number): BinaryNode | undefined {
  if (node.tag !== "iq" || node.attrs.type === "result" || node.attrs.type === "error") return undefined;
  const base = { tag: "iq", attrs: { id: node.attrs.id!, type: "result", from: S_WHATSAPP_NET } };
  const child = Array.isArray(node.content) ? node.content[0] : undefined;
  if (node.attrs.xmlns === "encrypt" && child?.tag === "count") {
    return { ...base, content: [{ tag: "count", attrs: { value: String(preKeyCount) } }] };
  }
  if (node.attrs.xmlns === "encrypt" && child?.tag === "digest") {
    return { ...base, content: [{ tag: "digest", attrs: {} }] };
  }
  return base;
}

export async function startFakeWaServer(opts: {
  onClient: (conn: FakeWaConnection) => void | Promise<void>;
  /** Pre-keys the server claims to hold for the device (default 0: Baileys uploads a batch). */
  preKeyCountOnServer?: number;
  port?: number;
}): Promise<FakeWaServer> {
  const root = installTestRootKey();
  const serverStatic = keyPair();
  const wss = new WebSocketServer({ host: "127.0.0.1", port: opts.port ?? 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const connections: FakeWaConnection[] = [];

  wss.on("connection", (ws: WebSocket) => {
    const noise = new ServerNoise();
    const serverEphemeral = keyPair();
    let inBytes = Buffer.alloc(0);
    let sawIntro = false;
    let stage: "hello" | "finish" | "transport" = "hello";
    let chain = Promise.resolve();
    const received: BinaryNode[] = [];
    const waiters: { predicate: (n: BinaryNode) => boolean; resolve: (n: BinaryNode) => void }[] = [];

    const sendFrame = (data: Uint8Array) => {
      const frame = Buffer.alloc(3 + data.byteLength);
      frame.writeUIntBE(data.byteLength, 0, 3);
      frame.set(data, 3);
      if (ws.readyState === ws.OPEN) ws.send(frame);
    };
    const sendNode = (node: BinaryNode) => sendFrame(noise.encrypt(encodeBinaryNode(node)));

    const onFrame = async (frame: Buffer) => {
      if (stage === "hello") {
        const hello = proto.HandshakeMessage.decode(frame);
        const clientEphemeral = Buffer.from(hello.clientHello!.ephemeral!);
        noise.authenticate(NOISE_WA_HEADER);
        noise.authenticate(clientEphemeral);
        noise.authenticate(serverEphemeral.public);
        noise.mixIntoKey(Curve.sharedKey(serverEphemeral.private, clientEphemeral));
        const staticEnc = noise.encrypt(serverStatic.public);
        noise.mixIntoKey(Curve.sharedKey(serverStatic.private, clientEphemeral));
        const payloadEnc = noise.encrypt(certChain(root, serverStatic));
        sendFrame(
          proto.HandshakeMessage.encode({
            serverHello: { ephemeral: serverEphemeral.public, static: staticEnc, payload: payloadEnc },
          }).finish(),
        );
        stage = "finish";
        return;
      }
      if (stage === "finish") {
        const finish = proto.HandshakeMessage.decode(frame).clientFinish!;
        const clientNoiseKey = noise.decrypt(finish.static!);
        noise.mixIntoKey(Curve.sharedKey(serverEphemeral.private, clientNoiseKey));
        const payload = proto.ClientPayload.decode(noise.decrypt(finish.payload!));
        noise.finish();
        stage = "transport";
        const conn = makeConnection(payload);
        connections.push(conn);
        await opts.onClient(conn);
        return;
      }
      const node = await decodeBinaryNode(noise.decrypt(frame));
      received.push(node);
      for (const w of [...waiters]) {
        if (w.predicate(node)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(node);
        }
      }
      const reply = autoReply(node, opts.preKeyCountOnServer ?? 0);
      if (reply) sendNode(reply);
    };

    const makeConnection = (payload: proto.ClientPayload): FakeWaConnection => ({
      index: connections.length,
      payload,
      isLogin: payload.username !== null && payload.username !== undefined && Number(payload.username) > 0,
      received,
      sendNode,
      sendPairDevice(refs) {
        sendNode({
          tag: "iq",
          attrs: { id: randomBytes(4).toString("hex"), type: "set", from: S_WHATSAPP_NET, xmlns: "md" },
          content: [
            {
              tag: "pair-device",
              attrs: {},
              content: refs.map((ref) => ({ tag: "ref", attrs: {}, content: Buffer.from(ref) })),
            },
          ],
        });
      },
      sendPairSuccess(qr, phoneNumber, device = 5) {
        // The QR carries what the phone needs: ref, noise key, identity key, adv secret.
        const [, , identityKeyB64, advB64] = qr.slice(qr.indexOf("#") + 1).split(",");
        const identityKey = Buffer.from(identityKeyB64!, "base64");
        const phone = keyPair();
        const deviceDetails = proto.ADVDeviceIdentity.encode({
          rawId: 1,
          timestamp: Math.floor(Date.now() / 1000),
          keyIndex: 1,
        }).finish();
        const accountSignature = Curve.sign(
          phone.private,
          Buffer.concat([Buffer.from([6, 0]), deviceDetails, identityKey]),
        );
        const account = proto.ADVSignedDeviceIdentity.encode({
          details: deviceDetails,
          accountSignatureKey: phone.public,
          accountSignature,
        }).finish();
        const hmac = hmacSign(account, Buffer.from(advB64!, "base64"));
        const identity = proto.ADVSignedDeviceIdentityHMAC.encode({ details: account, hmac }).finish();
        sendNode({
          tag: "iq",
          attrs: { id: randomBytes(4).toString("hex"), type: "set", from: S_WHATSAPP_NET, xmlns: "md" },
          content: [
            {
              tag: "pair-success",
              attrs: {},
              content: [
                { tag: "device-identity", attrs: {}, content: identity },
                { tag: "platform", attrs: { name: "smbi" } },
                {
                  tag: "device",
                  attrs: { jid: `${phoneNumber}:${device}@s.whatsapp.net`, lid: `1234567:${device}@lid` },
                },
              ],
            },
          ],
        });
      },
      sendSuccess() {
        sendNode({ tag: "success", attrs: { t: String(Math.floor(Date.now() / 1000)), lid: "1234567:5@lid" } });
        // "No offline messages": lets Baileys flush the events it buffers while logging in.
        sendNode({ tag: "ib", attrs: { from: S_WHATSAPP_NET }, content: [{ tag: "offline", attrs: { count: "0" } }] });
      },
      sendStreamError(code) {
        sendNode({ tag: "stream:error", attrs: { code: String(code) } });
      },
      terminate() {
        ws.terminate();
      },
      waitForNode(predicate, timeoutMs = 5000) {
        const existing = received.find(predicate);
        if (existing) return Promise.resolve(existing);
        return new Promise((resolve, reject) => {
          const waiter = { predicate, resolve };
          waiters.push(waiter);
          setTimeout(() => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) {
              waiters.splice(i, 1);
              reject(new Error("timed out waiting for a node from the client"));
            }
          }, timeoutMs).unref();
        });
      },
    });

    ws.on("message", (data: Buffer) => {
      inBytes = Buffer.concat([inBytes, data]);
      if (!sawIntro) {
        // The first bytes are the intro header "WA" 6 3 (no routing info: we never send edge_routing).
        if (inBytes.length < NOISE_WA_HEADER.length) return;
        inBytes = inBytes.subarray(NOISE_WA_HEADER.length);
        sawIntro = true;
      }
      while (inBytes.length >= 3) {
        const size = inBytes.readUIntBE(0, 3);
        if (inBytes.length < size + 3) break;
        const frame = Buffer.from(inBytes.subarray(3, size + 3));
        inBytes = inBytes.subarray(size + 3);
        chain = chain
          .then(() => onFrame(frame))
          .catch((err) => {
            console.error("fake WA server: frame handling failed", err);
            ws.terminate();
          });
      }
    });
  });

  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws/chat`,
    connections,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const getChild = getBinaryNodeChild;
