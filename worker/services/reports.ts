/**
 * Daily aggregates for the dashboard's reports, each day a day of the business's clock:
 * WhatsApp messages in and out, calls by outcome, first-response time in the inbox, and each
 * campaign's answer rate. Read-only; every query is scoped to the business and bounded by the
 * range (at most MAX_REPORT_DAYS days).
 */
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../db/client";

export const MAX_REPORT_DAYS = 366;

const localDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  // A real calendar day (2027-02-30 is not one: JavaScript would roll it over, Postgres refuses it),
  // from 1970 on (Postgres has no year 0, and nothing here is older).
  .refine((v) => {
    const ms = Date.parse(`${v}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === v && v >= "1970-01-01";
  }, "must be a real date from 1970 on");

export const reportQuery = z
  .object({
    /** First day, on the business's clock (inclusive). Default: 29 days before `to`. */
    from: localDate.optional(),
    /** Last day, on the business's clock (inclusive). Default: today. */
    to: localDate.optional(),
  })
  .strict();

export type ReportQuery = z.infer<typeof reportQuery>;

const DAY_MS = 86_400_000;

/** Today's date on the business's clock, as YYYY-MM-DD. */
export function todayIn(timezone: string, now = new Date()): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: timezone, dateStyle: "short" }).format(now);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The range asked for, with defaults; a refusal names the field. */
export function reportRange(
  q: ReportQuery,
  timezone: string,
  now = new Date(),
): { ok: true; from: string; to: string; days: string[] } | { ok: false; field: string; message: string } {
  const to = q.to ?? todayIn(timezone, now);
  const from = q.from ?? addDays(to, -29);
  if (from > to) return { ok: false, field: "from", message: "must not be after to" };
  const count = Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
  if (count > MAX_REPORT_DAYS)
    return { ok: false, field: "from", message: `the range is at most ${MAX_REPORT_DAYS} days` };
  return { ok: true, from, to, days: Array.from({ length: count }, (_, i) => addDays(from, i)) };
}

export interface ReportDay {
  date: string;
  messagesIn: number;
  messagesOut: number;
  calls: { answered: number; noAnswer: number; busy: number; failed: number; other: number };
  firstResponse: { conversations: number; answered: number; medianSeconds: number | null };
}

export interface CampaignReport {
  id: number;
  name: string;
  status: string;
  createdAt: string;
  dialed: number;
  answered: number;
  answerRate: number | null;
}

export interface Report {
  from: string;
  to: string;
  timezone: string;
  days: ReportDay[];
  campaigns: CampaignReport[];
}

const num = (v: unknown) => Number(v ?? 0);

export async function buildReport(
  db: Database,
  business: { id: number; timezone: string },
  range: { from: string; to: string; days: string[] },
): Promise<Report> {
  const tz = business.timezone;
  // Local midnight of the first day and of the day after the last, as instants.
  const start = sql`(${range.from}::date)::timestamp at time zone ${tz}`;
  const end = sql`((${range.to}::date + 1))::timestamp at time zone ${tz}`;
  const day = (col: unknown) => sql`to_char((${col} at time zone ${tz})::date, 'YYYY-MM-DD')`;

  const [messages, calls, responses, campaigns] = await Promise.all([
    db.execute<{ day: string; from_me: boolean; n: number }>(sql`
      select ${day(sql`sent_at`)} as day, from_me, count(*)::int as n
      from wa_messages
      where business_id = ${business.id} and sent_at >= ${start} and sent_at < ${end}
      group by 1, 2`),
    db.execute<{ day: string; status: string; n: number }>(sql`
      select ${day(sql`created_at`)} as day, status, count(*)::int as n
      from call_logs
      where business_id = ${business.id} and created_at >= ${start} and created_at < ${end}
      group by 1, 2`),
    // A customer's turn starts with an inbound message that follows one of ours (or opens the chat);
    // its first response is our next message in that conversation.
    db.execute<{ day: string; turns: number; answered: number; median: number | null }>(sql`
      with ordered as (
        select conversation_id, from_me, sent_at,
          lag(from_me) over (partition by conversation_id order by sent_at, id) as prev_from_me
        from wa_messages
        where business_id = ${business.id} and sent_at >= ${start} - interval '30 days' and sent_at < ${end}
      ),
      turns as (
        select o.sent_at as asked_at,
          (select min(r.sent_at) from wa_messages r
            where r.conversation_id = o.conversation_id and r.from_me and r.sent_at >= o.sent_at) as answered_at
        from ordered o
        where not o.from_me and (o.prev_from_me is null or o.prev_from_me)
          and o.sent_at >= ${start} and o.sent_at < ${end}
      )
      select ${day(sql`asked_at`)} as day, count(*)::int as turns, count(answered_at)::int as answered,
        percentile_cont(0.5) within group (order by extract(epoch from answered_at - asked_at))
          filter (where answered_at is not null) as median
      from turns group by 1`),
    db.execute<{ id: number; name: string; status: string; created_at: string; dialed: number; answered: number }>(sql`
      select r.id, r.name, r.status, r.created_at,
        count(j.id) filter (where j.status in ('completed', 'no_answer', 'busy', 'failed'))::int as dialed,
        count(j.id) filter (where j.status = 'completed')::int as answered
      from outbound_call_runs r left join outbound_call_jobs j on j.run_id = r.id
      where r.business_id = ${business.id} and r.created_at >= ${start} and r.created_at < ${end}
      group by r.id order by r.id desc limit 50`),
  ]);

  const byDay = new Map<string, ReportDay>(
    range.days.map((date) => [
      date,
      {
        date,
        messagesIn: 0,
        messagesOut: 0,
        calls: { answered: 0, noAnswer: 0, busy: 0, failed: 0, other: 0 },
        firstResponse: { conversations: 0, answered: 0, medianSeconds: null },
      },
    ]),
  );
  for (const r of messages.rows) {
    const d = byDay.get(r.day);
    if (!d) continue;
    if (r.from_me) d.messagesOut += num(r.n);
    else d.messagesIn += num(r.n);
  }
  for (const r of calls.rows) {
    const d = byDay.get(r.day);
    if (!d) continue;
    const bucket =
      r.status === "completed"
        ? "answered"
        : r.status === "no-answer"
          ? "noAnswer"
          : r.status === "busy"
            ? "busy"
            : r.status === "failed" || r.status === "rejected"
              ? "failed"
              : "other";
    d.calls[bucket] += num(r.n);
  }
  for (const r of responses.rows) {
    const d = byDay.get(r.day);
    if (!d) continue;
    d.firstResponse = {
      conversations: num(r.turns),
      answered: num(r.answered),
      medianSeconds: r.median === null ? null : Math.round(Number(r.median)),
    };
  }
  return {
    from: range.from,
    to: range.to,
    timezone: tz,
    days: [...byDay.values()],
    campaigns: campaigns.rows.map((r) => ({
      id: num(r.id),
      name: r.name,
      status: r.status,
      createdAt: new Date(r.created_at).toISOString(),
      dialed: num(r.dialed),
      answered: num(r.answered),
      answerRate: num(r.dialed) > 0 ? num(r.answered) / num(r.dialed) : null,
    })),
  };
}
