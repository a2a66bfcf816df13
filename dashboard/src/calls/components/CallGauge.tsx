/** Active calls against the business cap and the platform cap, live. */
import { useI18n } from "../../i18n/I18nProvider";
import { Gauge } from "../../ui/Gauge";
import { useCallCapacity } from "../hooks/useCallCapacity";

export function CallGauge() {
  const { t } = useI18n();
  const capacity = useCallCapacity();
  if (!capacity.data) return null;
  const { business, platform, inbound } = capacity.data;
  return (
    <section className="card gauges" aria-label={t("calls.gaugeTitle")}>
      <Gauge label={t("calls.gauge.business")} active={business.active} cap={business.cap} testId="gauge-business" />
      <Gauge label={t("calls.gauge.platform")} active={platform.active} cap={platform.cap} testId="gauge-platform" />
      {inbound > 0 && <p className="muted">{t("calls.inboundNow", { count: inbound })}</p>}
    </section>
  );
}
