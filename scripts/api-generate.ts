/**
 * `npm run api:generate`: writes contracts/api/openapi.json and contracts/api/schema.ts from the
 * route declarations. `--check` writes nothing and exits 1 when either file is out of date.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  buildDocument,
  DOCUMENT_FILE,
  documentText,
  ROOT,
  readCheckedIn,
  TYPES_FILE,
  typesText,
} from "./lib/api-contract";

const check = process.argv.includes("--check");
const document = buildDocument();
const wanted = { document: documentText(document), types: await typesText(document) };
const current = await readCheckedIn();
const stale = [
  ...(wanted.document !== current.document ? [DOCUMENT_FILE] : []),
  ...(wanted.types !== current.types ? [TYPES_FILE] : []),
].map((f) => path.relative(ROOT, f));

if (check) {
  if (stale.length > 0) {
    console.error(`Out of date: ${stale.join(", ")}. Run npm run api:generate and commit the result.`);
    process.exit(1);
  }
  console.log("API contract files are up to date.");
} else {
  await writeFile(DOCUMENT_FILE, wanted.document);
  await writeFile(TYPES_FILE, wanted.types);
  console.log(stale.length > 0 ? `Wrote ${stale.join(", ")}` : "API contract files were already up to date.");
}
