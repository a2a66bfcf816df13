/**
 * Who owns a called number (worker/calls/call-business.ts `numberOwner`): the incoming-call webhook
 * asks Postgres once per number per TTL, and when a busy number's entry expires, one refresh runs
 * in the background while every request keeps answering from the last one (no stampede of
 * connections, no call waiting for one).
 */
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { forgetNumberOwners, NUMBER_OWNER_TTL_MS, numberOwner } from "../../worker/calls/call-business";
import { businesses } from "../../worker/db/schema";
import { createCallBusiness } from "./calls-fixtures";
import { testDb } from "./helpers";

const { db, close } = testDb();
afterAll(close);

/** The database as numberOwner opens it, counting how often it was opened (= queried). */
function countingDb() {
  const opened = { n: 0 };
  return {
    opened,
    open: () => {
      opened.n++;
      return db;
    },
  };
}

describe("numberOwner", () => {
  it("reads a number's owner once per TTL, and after a change shows the new name once the TTL ran out", async () => {
    forgetNumberOwners();
    const business = await createCallBusiness(db, { name: "Before" });
    const t0 = Date.now();
    const { opened, open } = countingDb();
    expect((await numberOwner(open, business.twilioNumber, t0))?.name).toBe("Before");
    await db.update(businesses).set({ name: "After" }).where(eq(businesses.id, business.id));
    expect((await numberOwner(open, business.twilioNumber, t0 + 1_000))?.name).toBe("Before");
    expect(opened.n).toBe(1);
    // Past the TTL: answered at once from the entry, which a background load refreshes.
    const refreshes: Promise<unknown>[] = [];
    const expired = t0 + NUMBER_OWNER_TTL_MS + 1;
    expect((await numberOwner(open, business.twilioNumber, expired, (r) => refreshes.push(r)))?.name).toBe("Before");
    expect(refreshes).toHaveLength(1);
    await Promise.all(refreshes);
    expect((await numberOwner(open, business.twilioNumber, expired + 1))?.name).toBe("After");
    expect(opened.n).toBe(2);
  });

  it("when a busy number's entry expires, one request refreshes it and the others answer from the last one", async () => {
    forgetNumberOwners();
    const business = await createCallBusiness(db, { name: "Busy line" });
    const t0 = Date.now();
    const { opened, open } = countingDb();
    await numberOwner(open, business.twilioNumber, t0);
    const expired = t0 + NUMBER_OWNER_TTL_MS + 1;
    const owners = await Promise.all(
      Array.from({ length: 50 }, () => numberOwner(open, business.twilioNumber, expired)),
    );
    expect(owners.every((o) => o?.id === business.id)).toBe(true);
    // The first load, then one refresh for all 50.
    expect(opened.n).toBe(2);
  });

  it("a failed refresh leaves the last answer in place, and a later request tries again", async () => {
    forgetNumberOwners();
    const business = await createCallBusiness(db, { name: "Flaky" });
    const t0 = Date.now();
    await numberOwner(() => db, business.twilioNumber, t0);
    const expired = t0 + NUMBER_OWNER_TTL_MS + 1;
    const broken = () => {
      throw new Error("connect ECONNREFUSED");
    };
    // The call that finds it expired is answered from the last entry; the failed refresh is only logged.
    const refreshes: Promise<unknown>[] = [];
    expect((await numberOwner(broken, business.twilioNumber, expired, (r) => refreshes.push(r)))?.id).toBe(business.id);
    await Promise.all(refreshes);
    // Meanwhile: the last answer, and no new attempt.
    expect((await numberOwner(broken, business.twilioNumber, expired + 100, (r) => refreshes.push(r)))?.id).toBe(
      business.id,
    );
    expect(refreshes).toHaveLength(1);
    // Seconds later, with the database back: read again.
    const { opened, open } = countingDb();
    expect((await numberOwner(open, business.twilioNumber, expired + 10_000))?.id).toBe(business.id);
    expect(opened.n).toBe(1);
  });
});
