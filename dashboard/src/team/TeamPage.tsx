/** Team (admin+): users and roles; add, change role, deactivate. Admins cannot manage owners (the API checks). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { canManageRole } from "../../../worker/auth/permissions";
import { api } from "../api/client";
import type { AssignableRole, Role } from "../api/types";
import { useMe } from "../auth/hooks/useMe";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { leadKeys } from "../leads/hooks/useLeads";
import { useCan } from "../permissions/useCan";
import { useToast } from "../toasts/ToastProvider";
import { Dialog } from "../ui/Dialog";
import { Field, SelectField } from "../ui/Field";
import { useFieldErrors } from "../ui/fieldErrors";

const ROLES: AssignableRole[] = ["owner", "admin", "agent"];

export default function TeamPage() {
  const { t } = useI18n();
  const can = useCan();
  const me = useMe();
  const toast = useToast();
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: leadKeys.users, queryFn: api.users.list });
  const [adding, setAdding] = useState(false);
  const update = useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: { role?: AssignableRole; isActive?: boolean } }) =>
      api.users.update(id, patch),
    onSuccess: () => {
      toast.success(t("common.saved"));
      void queryClient.invalidateQueries({ queryKey: leadKeys.users });
    },
    onError: toast.error,
  });
  const actor = me?.user.role ?? "agent";
  const mayManage = can("users.manage");

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("team.title")}</h1>
        {mayManage && (
          <button type="button" className="button primary" onClick={() => setAdding(true)}>
            {t("team.add")}
          </button>
        )}
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">{t("team.name")}</th>
              <th scope="col" className="hide-narrow">
                {t("auth.email")}
              </th>
              <th scope="col">{t("team.role")}</th>
              <th scope="col">{t("team.active")}</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.users.map((u) => {
              const editable = mayManage && u.id !== me?.user.id && canManageRole(actor, u.role);
              return (
                <tr key={u.id}>
                  <td>
                    {u.name}
                    {/* On a phone the email column is hidden; the address goes under the name. */}
                    <span className="cell-detail" dir="ltr">
                      {u.email}
                    </span>
                  </td>
                  <td className="hide-narrow" dir="ltr">
                    {u.email}
                  </td>
                  <td>
                    {editable ? (
                      <select
                        aria-label={`${t("team.role")}: ${u.name}`}
                        value={u.role}
                        onChange={(e) => update.mutate({ id: u.id, patch: { role: e.target.value as AssignableRole } })}
                      >
                        {ROLES.filter((r) => canManageRole(actor, r)).map((r) => (
                          <option key={r} value={r}>
                            {t(`team.role.${r}` as MessageKey)}
                          </option>
                        ))}
                      </select>
                    ) : (
                      t(`team.role.${u.role}` as MessageKey)
                    )}
                  </td>
                  <td>
                    {u.isActive ? t("common.yes") : t("common.no")}
                    {editable && (
                      <button
                        type="button"
                        className="link-button"
                        onClick={() => update.mutate({ id: u.id, patch: { isActive: !u.isActive } })}
                      >
                        {u.isActive ? t("team.deactivate") : t("team.activate")}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <Dialog open={adding} title={t("team.add")} onClose={() => setAdding(false)}>
        <AddUser actor={actor} onDone={() => setAdding(false)} />
      </Dialog>
    </section>
  );
}

function AddUser({ actor, onDone }: { actor: Role; onDone: () => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const fields = useFieldErrors();
  const [form, setForm] = useState({
    name: "",
    email: "",
    role: "agent" as AssignableRole,
    password: "",
  });
  const create = useMutation({
    mutationFn: api.users.create,
    onSuccess: () => {
      toast.success(t("common.saved"));
      void queryClient.invalidateQueries({ queryKey: leadKeys.users });
      onDone();
    },
    onError: (err) => {
      fields.capture(err);
      toast.error(err);
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    fields.clear();
    create.mutate({ ...form, email: form.email.trim(), name: form.name.trim() });
  }
  return (
    <form onSubmit={submit} noValidate className="stack">
      <Field
        label={t("team.name")}
        value={form.name}
        error={fields.errors.name}
        onChange={(e) => setForm({ ...form, name: e.target.value })}
      />
      <Field
        label={t("auth.email")}
        type="email"
        dir="ltr"
        value={form.email}
        error={fields.errors.email}
        onChange={(e) => setForm({ ...form, email: e.target.value })}
      />
      <SelectField
        label={t("team.role")}
        value={form.role}
        error={fields.errors.role}
        onChange={(e) => setForm({ ...form, role: e.target.value as AssignableRole })}
      >
        {ROLES.filter((r) => canManageRole(actor, r)).map((r) => (
          <option key={r} value={r}>
            {t(`team.role.${r}` as MessageKey)}
          </option>
        ))}
      </SelectField>
      <Field
        label={t("auth.newPassword")}
        type="password"
        dir="ltr"
        autoComplete="new-password"
        value={form.password}
        error={fields.errors.password}
        onChange={(e) => setForm({ ...form, password: e.target.value })}
      />
      <div className="actions">
        <button type="submit" className="button primary" disabled={create.isPending}>
          {t("common.save")}
        </button>
      </div>
    </form>
  );
}
