/**
 * Platform admin (system_admin): businesses (create, act as one), feature flags (platform defaults
 * and the chosen business's overrides), WhatsApp shards with health and session counts, each
 * business's shard and a move of the chosen one with its progress and abort, the platform's call
 * capacity now, and the shard events the edge quarantined. Platform-wide numbers refetch every
 * 15 s (other businesses send this tab no live events); the chosen business's calls and session
 * come live.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { contract, fromContract } from "../api/client";
import { authKeys, useMe } from "../auth/hooks/useMe";
import { useI18n } from "../i18n/I18nProvider";
import { useToast } from "../toasts/ToastProvider";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { Field } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";
import { Gauge } from "../ui/Gauge";
import { adminKeys } from "./hooks/keys";
import { QuarantineSection } from "./QuarantineSection";

const PLATFORM_REFRESH_MS = 15_000;

export default function AdminPage() {
  const { t } = useI18n();
  const me = useMe();
  return (
    <section className="page">
      <h1>{t("admin.title")}</h1>
      <p className="muted" data-testid="acting-as">
        {me?.business ? t("admin.actingAs", { name: me.business.name }) : t("admin.actingNone")}
      </p>
      <div className="admin-grid">
        <PlatformCalls />
        <Shards />
        {me?.business && <ShardMove />}
        <Businesses />
        <Flags />
        <QuarantineSection />
      </div>
    </section>
  );
}

function Businesses() {
  const { t } = useI18n();
  const toast = useToast();
  const me = useMe();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const list = useQuery({
    queryKey: adminKeys.businesses,
    queryFn: () => fromContract(contract.GET("/api/admin/businesses")),
  });
  const actAs = useMutation({
    mutationFn: (businessId: number) => fromContract(contract.POST("/api/admin/act-as", { body: { businessId } })),
    onSuccess: async (res) => {
      toast.success(t("admin.nowActing", { name: res.actingAs.name }));
      // Everything shown belongs to the business acted on: start over from /api/me.
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== authKeys.me[0] && q.queryKey[0] !== "admin" });
      await queryClient.invalidateQueries();
    },
    onError: toast.error,
  });
  const [form, setForm] = useState({
    name: "",
    timezone: "Asia/Jerusalem",
    locale: "he-IL",
    email: "",
    owner: "",
    password: "",
  });
  const create = useMutation({
    mutationFn: () =>
      fromContract(
        contract.POST("/api/admin/businesses", {
          body: {
            name: form.name,
            timezone: form.timezone,
            locale: form.locale,
            owner: { email: form.email, name: form.owner, password: form.password },
          },
        }),
      ),
    onSuccess: () => {
      toast.success(t("common.saved"));
      setForm({ ...form, name: "", email: "", owner: "", password: "" });
      void queryClient.invalidateQueries({ queryKey: adminKeys.businesses });
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate();
  }
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <section className="card stack" aria-labelledby="admin-businesses">
      <h2 id="admin-businesses">{t("admin.businesses")}</h2>
      <ul className="plain-list" data-testid="business-list">
        {list.data?.businesses.map((b) => (
          <li key={b.id} className="list-row">
            <span>
              {b.name}{" "}
              <span className="muted small">
                #{b.id} · {b.timezone}
              </span>
            </span>
            {me?.business?.id === b.id ? (
              <span className="chip subtle">{t("admin.acting")}</span>
            ) : (
              <button
                type="button"
                className="button small"
                disabled={actAs.isPending}
                onClick={() => actAs.mutate(b.id)}
              >
                {t("admin.actAs")}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form className="stack" onSubmit={submit} noValidate aria-label={t("admin.newBusiness")}>
        <h3>{t("admin.newBusiness")}</h3>
        <div className="row">
          <Field label={t("setup.businessName")} value={form.name} error={fields.errors.name} onChange={set("name")} />
          <Field
            label={t("setup.timezone")}
            value={form.timezone}
            error={fields.errors.timezone}
            onChange={set("timezone")}
          />
          <Field label={t("setup.locale")} value={form.locale} error={fields.errors.locale} onChange={set("locale")} />
        </div>
        <div className="row">
          <Field
            label={t("admin.ownerEmail")}
            type="email"
            value={form.email}
            error={fields.errors["owner.email"]}
            onChange={set("email")}
          />
          <Field
            label={t("setup.name")}
            value={form.owner}
            error={fields.errors["owner.name"]}
            onChange={set("owner")}
          />
          <Field
            label={t("auth.newPassword")}
            type="password"
            autoComplete="new-password"
            value={form.password}
            error={fields.errors["owner.password"]}
            onChange={set("password")}
          />
        </div>
        <div className="actions">
          <button type="submit" className="button primary" disabled={create.isPending}>
            {t("admin.create")}
          </button>
        </div>
      </form>
    </section>
  );
}

function Flags() {
  const { t } = useI18n();
  const toast = useToast();
  const me = useMe();
  const queryClient = useQueryClient();
  const platform = useQuery({
    queryKey: adminKeys.flags,
    queryFn: () => fromContract(contract.GET("/api/admin/feature-flags")),
  });
  const business = useQuery({
    queryKey: adminKeys.businessFlags,
    queryFn: () => fromContract(contract.GET("/api/feature-flags")),
    enabled: Boolean(me?.business),
  });
  const setPlatform = useMutation({
    mutationFn: (v: { key: string; enabled: boolean | null }) =>
      fromContract(
        contract.PUT("/api/admin/feature-flags/{key}", {
          params: { path: { key: v.key } },
          body: { enabled: v.enabled },
        }),
      ),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: adminKeys.all }),
    onError: toast.error,
  });
  const setBusiness = useMutation({
    mutationFn: (v: { key: string; enabled: boolean | null }) =>
      fromContract(
        contract.PUT("/api/feature-flags/{key}", { params: { path: { key: v.key } }, body: { enabled: v.enabled } }),
      ),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: adminKeys.businessFlags }),
    onError: toast.error,
  });
  const choice = (v: boolean | null) => (v === null ? "" : v ? "on" : "off");
  const parse = (s: string) => (s === "" ? null : s === "on");
  return (
    <section className="card stack" aria-labelledby="admin-flags">
      <h2 id="admin-flags">{t("admin.flags")}</h2>
      <ul className="plain-list">
        {Object.entries(platform.data?.flags ?? {}).map(([key, f]) => {
          const eff = business.data?.flags[key];
          return (
            <li key={key} className="list-row wrap" data-testid={`flag-${key}`}>
              <code>{key}</code>
              <label className="inline-group small">
                {t("admin.platformDefault")}
                <select
                  value={choice(f.platform)}
                  onChange={(e) => setPlatform.mutate({ key, enabled: parse(e.target.value) })}
                >
                  <option value="">{t("admin.flagCode", { value: f.default ? t("admin.on") : t("admin.off") })}</option>
                  <option value="on">{t("admin.on")}</option>
                  <option value="off">{t("admin.off")}</option>
                </select>
              </label>
              {me?.business && eff && (
                <label className="inline-group small">
                  {me.business.name}
                  <select
                    value={eff.source === "business" ? choice(eff.enabled) : ""}
                    onChange={(e) => setBusiness.mutate({ key, enabled: parse(e.target.value) })}
                  >
                    <option value="">
                      {t("admin.inherit", { value: eff.enabled ? t("admin.on") : t("admin.off") })}
                    </option>
                    <option value="on">{t("admin.on")}</option>
                    <option value="off">{t("admin.off")}</option>
                  </select>
                </label>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Shards() {
  const { t } = useI18n();
  const shards = useQuery({
    queryKey: adminKeys.shards,
    queryFn: () => fromContract(contract.GET("/api/admin/shards")),
    refetchInterval: PLATFORM_REFRESH_MS,
  });
  const perShard = new Map<number, number>();
  for (const b of shards.data?.businesses ?? []) perShard.set(b.shard, (perShard.get(b.shard) ?? 0) + 1);
  return (
    <section className="card stack" aria-labelledby="admin-shards">
      <h2 id="admin-shards">{t("admin.shards")}</h2>
      <ul className="plain-list" data-testid="shard-list">
        {shards.data?.shards.map((s) => (
          <li key={s.shard} className="list-row wrap" data-shard={s.shard} data-status={s.status}>
            <strong>{t("admin.shard", { n: s.shard })}</strong>
            <span className={`chip shard-status ${s.status}`}>{t(`admin.shardStatus.${s.status}`)}</span>
            {s.sessions ? (
              <span className="small">
                {t("admin.sessions", { total: s.sessions.total, max: s.sessions.max })}
                {Object.entries(s.sessions.byState)
                  .filter(([, n]) => n > 0)
                  .map(([state, n]) => ` · ${state}: ${n}`)
                  .join("")}
              </span>
            ) : (
              <span className="muted small">{s.error}</span>
            )}
            {s.outbox && (
              <span className="muted small">
                {t("admin.outbox", { pending: s.outbox.pending, dead: s.outbox.dead })}
              </span>
            )}
            <span className="muted small">{t("admin.businessesOnShard", { count: perShard.get(s.shard) ?? 0 })}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * The chosen business's shard and a move. The move request itself runs the whole sequence (old
 * shard logs out, the record switches, the new shard starts); while it runs the steps are shown,
 * and a move left half-done (old shard did not confirm) can be retried or aborted.
 */
function ShardMove() {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [target, setTarget] = useState<number | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [outcome, setOutcome] = useState<string | null>(null);
  const assignment = useQuery({
    queryKey: adminKeys.assignment,
    queryFn: () => fromContract(contract.GET("/api/admin/whatsapp/assignment")),
  });
  const move = useMutation({
    mutationFn: (shard: number) => fromContract(contract.POST("/api/admin/whatsapp/move", { body: { shard } })),
    onMutate: () => setOutcome(null),
    onSuccess: (res) => {
      setOutcome(t("admin.moveDone", { shard: res.assignment.shard }));
      void queryClient.invalidateQueries({ queryKey: adminKeys.all });
    },
    onError: (err) => {
      toast.error(err);
      void queryClient.invalidateQueries({ queryKey: adminKeys.assignment });
    },
    onSettled: () => setConfirm(false),
  });
  const abort = useMutation({
    mutationFn: () => fromContract(contract.POST("/api/admin/whatsapp/move/abort")),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: adminKeys.all }),
    onError: toast.error,
  });
  const a = assignment.data?.assignment;
  const count = assignment.data?.shards ?? 1;
  const choices = Array.from({ length: count }, (_, i) => i + 1).filter((n) => n !== a?.shard);
  const chosen = target ?? choices[0] ?? null;
  return (
    <section className="card stack" aria-labelledby="admin-move" data-testid="shard-move">
      <h2 id="admin-move">{t("admin.move")}</h2>
      {a && (
        <p data-testid="current-shard" data-shard={a.shard}>
          {t("admin.currentShard", { shard: a.shard, token: a.fencingToken })}
        </p>
      )}
      {move.isPending && (
        <ol className="steps" aria-live="polite" data-testid="move-progress">
          <li>{t("admin.moveStep.logout", { shard: a?.shard ?? "?" })}</li>
          <li>{t("admin.moveStep.switch")}</li>
          <li>{t("admin.moveStep.start", { shard: chosen ?? "?" })}</li>
        </ol>
      )}
      {a?.move && !move.isPending && (
        <div className="form-problem" role="status" data-testid="move-stuck">
          <p>{t("admin.moveStuck", { from: a.move.from, to: a.move.to })}</p>
          <div className="actions">
            <button type="button" className="button" onClick={() => move.mutate(a.move!.to)}>
              {t("common.retry")}
            </button>
            <button type="button" className="button danger" disabled={abort.isPending} onClick={() => abort.mutate()}>
              {t("admin.abort")}
            </button>
          </div>
        </div>
      )}
      {outcome && (
        <p className="success" role="status" data-testid="move-outcome">
          {outcome}
        </p>
      )}
      {choices.length === 0 ? (
        <p className="muted">{t("admin.oneShard")}</p>
      ) : (
        <div className="actions">
          <label className="inline-group">
            {t("admin.moveTo")}
            <select value={chosen ?? ""} onChange={(e) => setTarget(Number(e.target.value))}>
              {choices.map((n) => (
                <option key={n} value={n}>
                  {t("admin.shard", { n })}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="button primary"
            disabled={move.isPending || !chosen}
            onClick={() => setConfirm(true)}
          >
            {t("admin.moveButton")}
          </button>
        </div>
      )}
      <ConfirmDialog
        open={confirm}
        title={t("admin.move")}
        body={t("admin.moveConfirm", { from: a?.shard ?? "?", to: chosen ?? "?" })}
        confirmLabel={t("admin.moveButton")}
        busy={move.isPending}
        onConfirm={() => chosen && move.mutate(chosen)}
        onClose={() => setConfirm(false)}
      />
    </section>
  );
}

function PlatformCalls() {
  const { t } = useI18n();
  const calls = useQuery({
    queryKey: adminKeys.calls,
    queryFn: () => fromContract(contract.GET("/api/admin/calls")),
    refetchInterval: PLATFORM_REFRESH_MS,
  });
  if (!calls.data) return null;
  return (
    <section className="card stack" aria-labelledby="admin-calls">
      <h2 id="admin-calls">{t("admin.calls")}</h2>
      <Gauge
        label={t("calls.gauge.platform")}
        active={calls.data.active}
        cap={calls.data.cap}
        testId="gauge-platform-admin"
      />
      {calls.data.byBusiness.length > 0 && (
        <ul className="plain-list small">
          {calls.data.byBusiness.map((b) => (
            <li key={b.businessId}>
              {t("admin.callsOf", { id: b.businessId, outbound: b.outbound, inbound: b.inbound })}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
