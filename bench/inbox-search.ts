/**
 * Inbox search at 100,000 messages: `npm run bench:inbox-search [-- --messages 100000 --businesses 4
 * --iterations 30 --storage-dir /tmp]`. Figures only, never pass/fail. Loopback only.
 *
 * The real Worker (worker/index.ts) runs in Miniflare against an embedded PostgreSQL 17 through the
 * Neon WebSocket proxy, migrated as in production. Seeded: `--messages` WhatsApp messages in Hebrew
 * and English over `--businesses` businesses (about 25 per conversation), each conversation with a
 * lead (Hebrew or English name, an Israeli mobile number) and a display name.
 *
 * Each search term is asked through the route a signed-in agent of business 1 uses,
 * GET /api/whatsapp/conversations?q=…, one request at a time (a person typing, not a load test):
 *   ours: with the trigram GIN indexes of migration 0007 (what production runs);
 *   peer: the same route and query after dropping those indexes: ILIKE by sequential scan.
 * Printed per term: conversations found (first page), p50 and p99 of each, and peer / ours.
 * Also printed: the database's LC_CTYPE and the trigrams pg_trgm makes of a Hebrew word (under the
 * `C` ctype pg_trgm sees no letters in Hebrew and its index cannot narrow a Hebrew search), and how
 * often the planner used each trigram index during our phase.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { hashPassword } from "../worker/auth/password";
import type { Database } from "../worker/db/client";
import * as schema from "../worker/db/schema";
import { listConversations } from "../worker/inbox/list";
import { startBenchDatabase, startBenchWorker } from "./lib/bench-stack";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    businesses: { type: "string", default: "4" },
    iterations: { type: "string", default: "30" },
    "storage-dir": { type: "string", default: tmpdir() },
    /** Also print EXPLAIN ANALYZE of the route's queries (worker/inbox/list.ts) for each term. */
    explain: { type: "boolean", default: false },
  },
});
const MESSAGES = Number(args.messages);
const BUSINESSES = Number(args.businesses);
const ITERATIONS = Number(args.iterations);
const STORAGE_DIR = path.resolve(args["storage-dir"]);
if (
  ![MESSAGES, BUSINESSES, ITERATIONS].every((n) => Number.isInteger(n) && n > 0) ||
  MESSAGES > 2_000_000 ||
  BUSINESSES > 100 ||
  ITERATIONS > 1000
) {
  throw new Error("messages 1-2000000, businesses 1-100, iterations 1-1000");
}

const PASSWORD = "bench password 0123456789";
const MESSAGES_PER_CONVERSATION = 25;
/** The trigram indexes of migration 0007: what the peer runs without. */
const TRIGRAM_INDEXES = [
  "wa_messages_text_trgm_idx",
  "wa_conversations_display_name_trgm_idx",
  "wa_conversations_chat_jid_trgm_idx",
  "leads_full_name_trgm_idx",
  "leads_phone_trgm_idx",
];

/** A small seeded generator (mulberry32), so every run searches the same data. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(20261202);
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

const HEBREW_FIRST = ["יעל", "נועה", "דנה", "מיכל", "שירה", "אורי", "איתי", "יוסי", "משה", "רונית", "תמר", "עומר"];
const HEBREW_LAST = ["כהן", "לוי", "מזרחי", "פרץ", "ביטון", "דהן", "אברהם", "פרידמן", "שפירא", "גולן"];
const ENGLISH_FIRST = ["Dana", "Noa", "Michael", "Sarah", "David", "Emma", "Daniel", "Olivia", "James", "Maya"];
const ENGLISH_LAST = ["Levi", "Smith", "Cohen", "Brown", "Miller", "Davis", "Wilson", "Taylor", "Katz", "Adler"];
const HEBREW_PHRASES = [
  "שלום, מתי המשלוח שלי מגיע?",
  "אפשר לקבוע תור לשבוע הבא?",
  "תודה רבה על השירות המהיר",
  "כמה עולה הטיפול?",
  "אני רוצה לבטל את ההזמנה",
  "האם יש חניה ליד הסניף?",
  "קיבלתי את החשבונית, תודה",
  "מה שעות הפתיחה ביום שישי?",
  "אשמח לפרטים נוספים על המבצע",
  "הגעתי, אני מחכה בכניסה",
];
const ENGLISH_PHRASES = [
  "Hi, when will my delivery arrive?",
  "Can I book an appointment for next week?",
  "Thanks a lot for the quick service",
  "How much does the treatment cost?",
  "I would like to cancel my order",
  "Is there parking near the branch?",
  "Got the invoice, thank you",
  "What are your opening hours on Friday?",
  "I'd love more details about the sale",
  "I'm here, waiting at the entrance",
];
/** Rare text planted in a few of business 1's messages: a search whose answer is small. */
const RARE_HEBREW = "קופון-זהב";
const RARE_ENGLISH = "voucher GOLD-7731";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface Seeded {
  businessIds: number[];
  /** A lead phone of business 1 (E.164) and its lead's Hebrew full name. */
  samplePhone: string;
  sampleHebrewName: string;
}

async function seed(client: pg.Client): Promise<Seeded> {
  const businessIds: number[] = [];
  for (let b = 1; b <= BUSINESSES; b++) {
    const { rows } = await client.query<{ id: number }>(
      "INSERT INTO businesses (name, locale) VALUES ($1, 'he-IL') RETURNING id",
      [`Bench business ${b}`],
    );
    businessIds.push(rows[0]!.id);
  }
  await client.query(
    "INSERT INTO users (business_id, email, name, role, password_hash) VALUES ($1, 'agent@bench.test', 'Agent', 'agent', $2)",
    [businessIds[0], await hashPassword(PASSWORD, 100_000)],
  );

  const conversations = Math.max(1, Math.round(MESSAGES / MESSAGES_PER_CONVERSATION));
  const now = Date.now();
  let samplePhone = "";
  let sampleHebrewName = "";
  // Leads and conversations, one per conversation, spread over the businesses.
  const lead = { business: [] as number[], first: [] as string[], last: [] as string[], phone: [] as string[] };
  for (let i = 0; i < conversations; i++) {
    const hebrew = rand() < 0.6;
    lead.business.push(businessIds[i % BUSINESSES]!);
    lead.first.push(hebrew ? pick(HEBREW_FIRST) : pick(ENGLISH_FIRST));
    lead.last.push(hebrew ? pick(HEBREW_LAST) : pick(ENGLISH_LAST));
    // Distinct Israeli mobile numbers: +97250 and seven digits.
    lead.phone.push(`+97250${String(1_000_000 + i * 7).padStart(7, "0")}`);
    if (!samplePhone && hebrew && i % BUSINESSES === 0) {
      samplePhone = lead.phone[i]!;
      sampleHebrewName = `${lead.first[i]} ${lead.last[i]}`;
    }
  }
  const leadIds = (
    await client.query<{ id: number }>(
      `INSERT INTO leads (business_id, first_name, last_name, phone_e164)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) RETURNING id`,
      [lead.business, lead.first, lead.last, lead.phone],
    )
  ).rows.map((r) => r.id);
  const conversationIds = (
    await client.query<{ id: number }>(
      `INSERT INTO wa_conversations (business_id, chat_jid, lead_id, display_name, last_message_at, last_message_preview)
       SELECT b, j, l, d, now(), 'hi' FROM unnest($1::int[], $2::text[], $3::int[], $4::text[]) AS t(b, j, l, d) RETURNING id`,
      [
        lead.business,
        lead.phone.map((p) => `${p.slice(1)}@s.whatsapp.net`),
        leadIds,
        // WhatsApp's display name: often the lead's first name, sometimes a nickname in the other script.
        lead.first.map((f, i) => (rand() < 0.7 ? f : `${pick(ENGLISH_FIRST)} ${i % 97}`)),
      ],
    )
  ).rows.map((r) => r.id);

  // Messages in chunks, each conversation's in time order.
  const CHUNK = 20_000;
  let written = 0;
  while (written < MESSAGES) {
    const rows = { business: [] as number[], conv: [] as number[], jid: [] as string[], id: [] as string[] };
    const more = { fromMe: [] as boolean[], text: [] as string[], at: [] as string[] };
    for (let k = 0; k < CHUNK && written < MESSAGES; k++, written++) {
      const c = written % conversations;
      const hebrew = /[\u0590-\u05FF]/.test(lead.first[c]!);
      let text = hebrew ? pick(HEBREW_PHRASES) : pick(ENGLISH_PHRASES);
      if (rand() < 0.3) text += ` #${Math.floor(rand() * 100_000)}`;
      // A handful of rare phrases, in business 1 only.
      if (c % BUSINESSES === 0 && written % 9973 === 0) text = `${text} ${hebrew ? RARE_HEBREW : RARE_ENGLISH}`;
      rows.business.push(lead.business[c]!);
      rows.conv.push(conversationIds[c]!);
      rows.jid.push(`${lead.phone[c]!.slice(1)}@s.whatsapp.net`);
      rows.id.push(`BENCH${written}`);
      more.fromMe.push(rand() < 0.4);
      more.text.push(text);
      more.at.push(new Date(now - (MESSAGES - written) * 60_000).toISOString());
    }
    await client.query(
      `INSERT INTO wa_messages (business_id, conversation_id, chat_jid, wa_message_id, from_me, text, status, sent_at)
       SELECT b, c, j, w, f, t, 'delivered', s
       FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::timestamptz[])
         AS u(b, c, j, w, f, t, s)`,
      [rows.business, rows.conv, rows.jid, rows.id, more.fromMe, more.text, more.at],
    );
  }
  await client.query(
    `UPDATE wa_conversations c SET last_message_at = m.at
     FROM (SELECT conversation_id, max(sent_at) AS at FROM wa_messages GROUP BY conversation_id) m
     WHERE m.conversation_id = c.id`,
  );
  await client.query("ANALYZE");
  return { businessIds, samplePhone, sampleHebrewName };
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(path.join(tmpdir(), "prosaas-bench-search-"));
  const doDir = await mkdtemp(path.join(STORAGE_DIR, "prosaas-bench-do-"));
  const cleanups: (() => Promise<unknown>)[] = [
    () => rm(workDir, { recursive: true, force: true }),
    () => rm(doDir, { recursive: true, force: true }),
  ];
  try {
    console.log(
      `inbox search benchmark: ${MESSAGES} messages over ${BUSINESSES} businesses, ${ITERATIONS} searches per term and design; data under ${STORAGE_DIR}\n`,
    );
    const postgres = await startBenchDatabase(STORAGE_DIR, "bench_inbox_search");
    cleanups.unshift(() => postgres.stop());
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    cleanups.unshift(() => client.end());

    const seedStart = performance.now();
    const seeded = await seed(client);
    console.log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    const ctype = (
      await client.query<{ ctype: string }>(
        "SELECT datctype AS ctype FROM pg_database WHERE datname = current_database()",
      )
    ).rows[0]!.ctype;
    const hebrewTrigrams = (await client.query<{ t: string[] }>("SELECT show_trgm('משלוח') AS t")).rows[0]!.t;
    console.log(`database LC_CTYPE: ${ctype}; pg_trgm trigrams of "משלוח": ${JSON.stringify(hebrewTrigrams)}`);
    if (hebrewTrigrams.length === 0)
      console.log("  (no trigrams: under this ctype the trigram index cannot narrow a Hebrew search)");

    const mf = startBenchWorker({
      entry: "worker/index.ts",
      name: "prosaas-bench-inbox-search",
      workDir,
      doDir,
      bindings: { DATABASE_URL: postgres.url, NEON_WS_PROXY: postgres.wsProxy },
    });
    cleanups.unshift(() => mf.dispose());
    const call = (p: string, init: RequestInit = {}) => mf.dispatchFetch(`http://bench.local${p}`, init as never);
    const login = await call("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "agent@bench.test", password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    await login.arrayBuffer();

    const national = `0${seeded.samplePhone.slice(4)}`;
    const terms: [string, string][] = [
      ["Hebrew word, common", "משלוח"],
      ["Hebrew phrase, rare", RARE_HEBREW],
      ["English word, common", "delivery"],
      ["English, rare", "GOLD-7731"],
      ["Hebrew lead name", seeded.sampleHebrewName],
      ["phone, national, partial", `${national.slice(0, 3)}-${national.slice(3, 8)}`],
      ["phone, last 4 digits", seeded.samplePhone.slice(-4)],
      ["no match", "zzqqxx"],
      // The floor: the same page without a search (session, unread total, one indexed query).
      ["(no q: the plain list)", ""],
    ];

    const search = async (q: string): Promise<{ ms: number; found: number }> => {
      const t = performance.now();
      const res = await call(`/api/whatsapp/conversations?limit=30${q ? `&q=${encodeURIComponent(q)}` : ""}`, {
        headers: { Cookie: cookie },
      });
      const text = await res.text();
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`search ${q} answered ${res.status}: ${text}`);
      return { ms, found: (JSON.parse(text) as { conversations: unknown[] }).conversations.length };
    };
    const phase = async () => {
      const out = new Map<string, { p50: number; p99: number; found: number }>();
      for (const [, q] of terms) await search(q); // warm: plans cached, pages in memory
      for (const [label, q] of terms) {
        const times: number[] = [];
        let found = 0;
        for (let i = 0; i < ITERATIONS; i++) {
          const r = await search(q);
          times.push(r.ms);
          found = r.found;
        }
        times.sort((a, b) => a - b);
        out.set(label, { p50: percentile(times, 50), p99: percentile(times, 99), found });
      }
      return out;
    };
    const indexScans = async () =>
      new Map(
        (
          await client.query<{ name: string; scans: string }>(
            "SELECT indexrelname AS name, idx_scan::text AS scans FROM pg_stat_user_indexes WHERE indexrelname = ANY($1)",
            [TRIGRAM_INDEXES],
          )
        ).rows.map((r) => [r.name, Number(r.scans)]),
      );

    if (args.explain) {
      // The route's own query function on a plain pg client; each query it sends is explained.
      const sent: { sql: string; params: unknown[] }[] = [];
      const db = drizzle(client, { schema, logger: { logQuery: (sql, params) => sent.push({ sql, params }) } });
      const [agent] = (await client.query<{ id: number }>("SELECT id FROM users WHERE email = 'agent@bench.test'"))
        .rows;
      for (const [label, q] of terms) {
        if (!q) continue;
        sent.length = 0;
        await listConversations(db as unknown as Database, {
          businessId: seeded.businessIds[0]!,
          userId: agent!.id,
          limit: 30,
          view: "all",
          q,
        });
        for (const query of sent) {
          const plan = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${query.sql}`, query.params);
          console.log(`\n-- ${label}: ${q}\n${plan.rows.map((r) => r["QUERY PLAN"]).join("\n")}`);
        }
      }
    }

    const before = await indexScans();
    const ours = await phase();
    // Statistics reach pg_stat_user_indexes within a moment of each transaction's end.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await indexScans();

    for (const name of TRIGRAM_INDEXES) await client.query(`DROP INDEX ${name}`);
    await client.query("ANALYZE");
    const peer = await phase();

    const rows: string[][] = [
      ["search (q)", "found", "ours p50 ms", "ours p99 ms", "peer p50 ms", "peer p99 ms", "peer / ours (p50)"],
    ];
    for (const [label, q] of terms) {
      const o = ours.get(label)!;
      const p = peer.get(label)!;
      rows.push([
        q ? `${label}: ${q}` : label,
        String(o.found),
        o.p50.toFixed(1),
        o.p99.toFixed(1),
        p.p50.toFixed(1),
        p.p99.toFixed(1),
        `${(p.p50 / o.p50).toFixed(1)}x`,
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
    console.log(
      `\nGET /api/whatsapp/conversations?q=… as an agent of business 1 (${MESSAGES} messages in all); ours = trigram GIN indexes, peer = the same route with them dropped (sequential ILIKE)\n`,
    );
    for (const r of rows)
      console.log(r.map((cell, i) => cell + " ".repeat(widths[i]! - [...cell].length)).join("  |  "));
    console.log(
      `\ntrigram index scans during ours: ${TRIGRAM_INDEXES.map((n) => `${n} ${(after.get(n) ?? 0) - (before.get(n) ?? 0)}`).join(", ")}`,
    );
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err) => console.error("cleanup failed:", err));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
