/**
 * The signed-in frame: navigation (only what the role may use, from the API's permission table),
 * language switch, sign-out, and the pages, each loaded on first visit (code split by route).
 */
import { lazy, Suspense, useState } from "react";
import { Link, Redirect, Route, Switch, useLocation } from "wouter";
import type { Me } from "../api/types";
import { LanguageSwitch } from "../auth/components/LanguageSwitch";
import { useSignOut } from "../auth/hooks/useMe";
import { useI18n } from "../i18n/I18nProvider";
import type { MessageKey } from "../i18n/messages";
import { type Permission, useCan } from "../permissions/useCan";
import { PausedBanner } from "../whatsapp/components/PausedBanner";

const LeadsPage = lazy(() => import("../leads/LeadsPage"));
const LeadDetailPage = lazy(() => import("../lead-detail/LeadDetailPage"));
const InboxPage = lazy(() => import("../inbox/InboxPage"));
const ConnectPage = lazy(() => import("../whatsapp/ConnectPage"));
const TeamPage = lazy(() => import("../team/TeamPage"));
const SettingsPage = lazy(() => import("../settings/SettingsPage"));
const PasswordPage = lazy(() => import("../auth/components/PasswordPage"));
const CallsPage = lazy(() => import("../calls/CallsPage"));
const CampaignsPage = lazy(() => import("../campaigns/CampaignsPage"));
const CampaignDetailPage = lazy(() => import("../campaigns/CampaignDetailPage"));
const BroadcastsPage = lazy(() => import("../broadcasts/BroadcastsPage"));
const BroadcastDetailPage = lazy(() => import("../broadcasts/BroadcastDetailPage"));
const ScheduledPage = lazy(() => import("../scheduled/ScheduledPage"));
const AppointmentsPage = lazy(() => import("../appointments/AppointmentsPage"));
const ReportsPage = lazy(() => import("../reports/ReportsPage"));
const AdminPage = lazy(() => import("../admin/AdminPage"));
const ApiKeysPage = lazy(() => import("../integrations/ApiKeysPage"));
const WebhooksPage = lazy(() => import("../integrations/WebhooksPage"));
const WebhookLogPage = lazy(() => import("../integrations/WebhookLogPage"));
const AuditLogPage = lazy(() => import("../integrations/AuditLogPage"));

const NAV: { href: string; label: MessageKey; permission: Permission }[] = [
  { href: "/leads", label: "nav.leads", permission: "leads.read" },
  { href: "/inbox", label: "nav.inbox", permission: "whatsapp.read" },
  { href: "/calls", label: "nav.calls", permission: "calls.read" },
  { href: "/campaigns", label: "nav.campaigns", permission: "campaigns.read" },
  { href: "/broadcasts", label: "nav.broadcasts", permission: "broadcasts.read" },
  { href: "/scheduled", label: "nav.scheduled", permission: "scheduled_messages.read" },
  { href: "/appointments", label: "nav.appointments", permission: "appointments.read" },
  { href: "/reports", label: "nav.reports", permission: "reports.read" },
  { href: "/whatsapp", label: "nav.whatsapp", permission: "whatsapp.manage" },
  { href: "/team", label: "nav.team", permission: "users.read" },
  { href: "/settings", label: "nav.settings", permission: "settings.read" },
  { href: "/admin", label: "nav.admin", permission: "platform.manage" },
  { href: "/api-keys", label: "nav.apiKeys", permission: "api_keys.manage" },
  { href: "/webhooks", label: "nav.webhooks", permission: "webhooks.read" },
  { href: "/audit", label: "nav.audit", permission: "audit.read" },
];

export function Shell({ me }: { me: Me }) {
  const { t } = useI18n();
  const can = useCan();
  const signOut = useSignOut();
  const [location] = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const nav = NAV.filter((item) => can(item.permission));

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        {t("nav.skip")}
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>
          <span>{me.business?.name ?? t("appName")}</span>
        </div>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          {t("nav.menu")}
        </button>
        <nav id="main-nav" className={menuOpen ? "nav open" : "nav"} aria-label={t("nav.menu")}>
          <ul>
            {nav.map((item) => (
              <li key={item.href}>
                <Link
                  href={item.href}
                  aria-current={location.startsWith(item.href) ? "page" : undefined}
                  onClick={() => setMenuOpen(false)}
                >
                  {t(item.label)}
                </Link>
              </li>
            ))}
          </ul>
          <div className="nav-end">
            <LanguageSwitch />
            <details className="user-menu">
              <summary>{me.user.name || me.user.email}</summary>
              <div className="user-menu-body">
                <span className="muted">{t(`team.role.${me.user.role}`)}</span>
                <Link href="/password" onClick={() => setMenuOpen(false)}>
                  {t("nav.password")}
                </Link>
                <button type="button" className="button" onClick={() => void signOut()}>
                  {t("nav.signOut")}
                </button>
              </div>
            </details>
          </div>
        </nav>
      </header>
      {can("whatsapp.read") && <PausedBanner />}
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="splash">{t("common.loading")}</p>}>
          <Switch>
            <Route path="/">
              <Redirect to="/leads" />
            </Route>
            <Route path="/leads" component={LeadsPage} />
            <Route path="/leads/:id">{(params) => <LeadDetailPage id={Number(params.id)} />}</Route>
            <Route path="/inbox">{() => <InboxPage />}</Route>
            <Route path="/inbox/:id">{(params) => <InboxPage conversationId={Number(params.id)} />}</Route>
            {can("calls.read") && <Route path="/calls" component={CallsPage} />}
            {can("campaigns.read") && <Route path="/campaigns" component={CampaignsPage} />}
            {can("campaigns.read") && (
              <Route path="/campaigns/:id">{(params) => <CampaignDetailPage id={Number(params.id)} />}</Route>
            )}
            {can("broadcasts.read") && <Route path="/broadcasts" component={BroadcastsPage} />}
            {can("broadcasts.read") && (
              <Route path="/broadcasts/:id">{(params) => <BroadcastDetailPage id={Number(params.id)} />}</Route>
            )}
            {can("scheduled_messages.read") && <Route path="/scheduled" component={ScheduledPage} />}
            {can("appointments.read") && <Route path="/appointments" component={AppointmentsPage} />}
            {can("reports.read") && <Route path="/reports" component={ReportsPage} />}
            {can("platform.manage") && <Route path="/admin" component={AdminPage} />}
            {can("whatsapp.manage") && <Route path="/whatsapp" component={ConnectPage} />}
            {can("users.read") && <Route path="/team" component={TeamPage} />}
            {can("settings.read") && <Route path="/settings" component={SettingsPage} />}
            {can("api_keys.manage") && <Route path="/api-keys" component={ApiKeysPage} />}
            {can("webhooks.read") && <Route path="/webhooks" component={WebhooksPage} />}
            {can("webhooks.read") && (
              <Route path="/webhooks/:id">{(params) => <WebhookLogPage id={Number(params.id)} />}</Route>
            )}
            {can("audit.read") && <Route path="/audit" component={AuditLogPage} />}
            <Route path="/password" component={PasswordPage} />
            <Route>
              <section className="page">
                <h1>{t("error.notFound")}</h1>
              </section>
            </Route>
          </Switch>
        </Suspense>
      </main>
    </div>
  );
}
