/**
 * Benchmark helper process: a fake WhatsApp server (shard-node/test/helpers/fake-wa-server.ts) that
 * lets every known device log in. Runs apart from the shard so its memory is not counted as the
 * shard's. Prints one JSON line `{ url, rootPublicKeyHex }` and serves until killed.
 */
import { installTestRootKey, startFakeWaServer } from "../shard-node/test/helpers/fake-wa-server.js";

const root = installTestRootKey();
const server = await startFakeWaServer({
  preKeyCountOnServer: 100,
  onClient: (conn) => {
    if (conn.isLogin) conn.sendSuccess();
    else conn.sendPairDevice(["bench-ref"]);
  },
});
process.stdout.write(`${JSON.stringify({ url: server.url, rootPublicKeyHex: root.public.toString("hex") })}\n`);
process.on("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
