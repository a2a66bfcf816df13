/** One temp directory per test run for every SQLite file the tests create; removed afterwards. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "shard-node-tests-"));
  process.env.SHARD_TEST_TMP = root;
  return () => rmSync(root, { recursive: true, force: true });
}
