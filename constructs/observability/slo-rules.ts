/**
 * Prometheus rules from the SLO declarations (slos.ts): per SLO, its error ratio over every alert
 * window as a recording rule, and multi-window, multi-burn-rate alerts on them, with the
 * parameters the Google SRE workbook recommends in "Alerting on SLOs" for a 30-day budget:
 *
 * | Response | Long window | Short window | Burn rate | Budget spent when it fires |
 * |----------|-------------|--------------|-----------|----------------------------|
 * | page     | 1 h         | 5 m          | 14.4      | 2%                         |
 * | page     | 6 h         | 30 m         | 6         | 5%                         |
 * | ticket   | 1 d         | 2 h          | 3         | 10%                        |
 * | ticket   | 3 d         | 6 h          | 1         | 10%                        |
 *
 * An alert needs both of its windows at the threshold: the long one shows the burn is big enough to
 * matter, the short one (a twelfth of it) that it is still going on, so a short spike does not page
 * and an alert resolves minutes after the burn stops. The workbook compares with `>`; here it is
 * `>=`, so a burn at exactly the rate that spends 2% of the budget in an hour pages. A page is
 * `severity: critical` and a ticket `severity: warning`, as in the pipeline alerts.
 *
 * Without traffic (no events, or a Deployment that wants no replicas) there is no ratio at all,
 * rather than a division by zero: nothing is recorded and nothing fires.
 */
import { stringify } from 'yaml';
import { AlertSeverity } from './pipeline-alerts';
import { percent, ServiceLevelObjective, SLO_PERIOD_HOURS } from './slos';

export interface BurnRateAlert {
  readonly response: 'page' | 'ticket';
  readonly severity: AlertSeverity;
  readonly longWindow: string;
  readonly shortWindow: string;
  /** How many times faster than "exactly the budget in SLO_PERIOD_HOURS" the SLO fails. */
  readonly burnRate: number;
}

/** The workbook's table, above. */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  { response: 'page', severity: 'critical', longWindow: '1h', shortWindow: '5m', burnRate: 14.4 },
  { response: 'page', severity: 'critical', longWindow: '6h', shortWindow: '30m', burnRate: 6 },
  { response: 'ticket', severity: 'warning', longWindow: '1d', shortWindow: '2h', burnRate: 3 },
  { response: 'ticket', severity: 'warning', longWindow: '3d', shortWindow: '6h', burnRate: 1 },
];

const HOURS_PER_UNIT: Readonly<Record<string, number>> = { m: 1 / 60, h: 1, d: 24 };

/** A Prometheus duration of whole minutes, hours or days, in hours. */
export function windowHours(window: string): number {
  const m = /^(\d+)([mhd])$/.exec(window);
  if (!m) throw new Error(`SLO window '${window}' must be a whole number of minutes, hours or days, e.g. 5m, 1h, 3d`);
  return Number(m[1]) * HOURS_PER_UNIT[m[2]];
}

/** Every window an alert reads, shortest first: one recording rule each per SLO. */
export const SLO_WINDOWS: readonly string[] = [...new Set(BURN_RATE_ALERTS.flatMap((a) => [a.longWindow, a.shortWindow]))].sort(
  (a, b) => windowHours(a) - windowHours(b),
);

/** Share of the period's budget an alert has seen spent when it fires (2% for 14.4 over 1 h). */
export function budgetSpent(alert: BurnRateAlert): number {
  return round((alert.burnRate * windowHours(alert.longWindow)) / SLO_PERIOD_HOURS);
}

/** Names of the recorded series; every one carries the label `slo`. */
export const SLO_SERIES = {
  /** Share of bad events (or samples) over the window. */
  errorRatio: (window: string) => `sdp_slo:error_ratio:rate${window}`,
  /** The declared objective, for dashboards. */
  objective: 'sdp_slo:objective:ratio',
  /** A sampled SLI's bad and total amounts at each evaluation. */
  badSample: 'sdp_slo:bad:sample',
  totalSample: 'sdp_slo:total:sample',
} as const;

export const SLO_ALERT_NAME = 'SdpErrorBudgetBurn';

/** Labels the generator sets; an SLO's own labels must not shadow them. */
const RESERVED_LABELS = ['slo', 'severity', 'platform', 'long_window', 'short_window'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SELECTOR = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}[\]]*\})?$/;

/** Strips float noise (`14.4 * (1 - 0.99)` is 0.14400000000000002) so thresholds read as declared. */
function round(x: number): number {
  return Number(x.toPrecision(12));
}

export function errorBudget(slo: ServiceLevelObjective): number {
  return round(1 - slo.objective);
}

/** The error ratio at which `alert` fires for `slo`. */
export function burnThreshold(slo: ServiceLevelObjective, alert: BurnRateAlert): number {
  return round(alert.burnRate * errorBudget(slo));
}

/** Checks every declaration before anything is rendered; each message names the SLO and the field. */
export function validateSlos(slos: readonly ServiceLevelObjective[]): void {
  const seen = new Set<string>();
  for (const slo of slos) {
    const fail = (field: string, message: string): never => {
      throw new Error(`SLO '${slo.name}': ${field} ${message}`);
    };
    if (!DNS_LABEL.test(slo.name)) fail('name', 'must be a DNS label (lower-case letters, digits and dashes)');
    if (seen.has(slo.name)) fail('name', 'is declared twice');
    seen.add(slo.name);
    if (!(typeof slo.objective === 'number' && slo.objective > 0 && slo.objective < 1)) {
      fail('objective', `(${slo.objective}) must be strictly between 0 and 1, e.g. 0.99 for 99%`);
    }
    if (!slo.description.trim()) fail('description', 'must say what the SLO promises');
    if (!slo.runbook.trim()) fail('runbook', 'must say what to do first');
    const sli = slo.sli;
    if (sli.kind === 'events') {
      if ((sli.good === undefined) === (sli.bad === undefined)) fail('sli', 'of kind events needs exactly one of good and bad');
      for (const [field, selector] of Object.entries({ total: sli.total, good: sli.good, bad: sli.bad })) {
        if (selector !== undefined && !SELECTOR.test(selector.trim())) {
          fail(`sli.${field}`, `('${selector}') must be a counter selector without a range or function, e.g. sdp_records_in_total{app="processor"}`);
        }
      }
    } else if (!sli.bad.trim() || !sli.total.trim()) {
      fail('sli', 'of kind samples needs bad and total expressions');
    }
    for (const key of Object.keys(slo.labels ?? {})) {
      if (RESERVED_LABELS.includes(key)) fail('labels', `must not set '${key}': the generator sets it`);
    }
  }
}

const sumRate = (selector: string, window: string) => `sum(rate(${selector}[${window}]))`;

/**
 * The SLO's error ratio over `window` as PromQL: also for a Grafana range such as `$__range`.
 * A denominator of 0 drops the result instead of dividing by zero; bad events that never happened
 * (a counter that does not exist yet) count as 0.
 */
export function errorRatioExpr(slo: ServiceLevelObjective, window: string): string {
  const sli = slo.sli;
  if (sli.kind === 'samples') {
    const sel = (name: string) => `${name}{slo="${slo.name}"}`;
    return `sum(sum_over_time(${sel(SLO_SERIES.badSample)}[${window}])) / (sum(sum_over_time(${sel(SLO_SERIES.totalSample)}[${window}])) > 0)`;
  }
  const total = sumRate(sli.total, window);
  const bad = sli.bad !== undefined ? `(${sumRate(sli.bad, window)} or vector(0))` : `(${total} - (${sumRate(sli.good, window)} or vector(0)))`;
  return `${bad} / (${total} > 0)`;
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface SloAlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface SloRuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | SloAlertRule)[];
}

export interface SloRulesOptions {
  /**
   * When set, each alert also gets `runbook_url: <base>#<slo name>`.
   * @default no runbook_url (the one-line `runbook` annotation is always there)
   */
  readonly runbookBaseUrl?: string;
}

function alertRule(slo: ServiceLevelObjective, alert: BurnRateAlert, options: SloRulesOptions): SloAlertRule {
  const threshold = burnThreshold(slo, alert);
  const ratio = (window: string) => `${SLO_SERIES.errorRatio(window)}{slo="${slo.name}"} >= ${threshold}`;
  const lastsDays = round(SLO_PERIOD_HOURS / alert.burnRate / 24).toFixed(1);
  return {
    alert: SLO_ALERT_NAME,
    // `and` keeps the left side's value: the long window's ratio, which the description quotes.
    expr: `${ratio(alert.longWindow)} and ${ratio(alert.shortWindow)}`,
    labels: {
      ...slo.labels,
      severity: alert.severity,
      platform: 'sdp',
      slo: slo.name,
      long_window: alert.longWindow,
      short_window: alert.shortWindow,
    },
    annotations: {
      summary: `${slo.name} burns its error budget ${alert.burnRate}x too fast (${alert.longWindow} and ${alert.shortWindow})`,
      description:
        `${slo.description} Over the last ${alert.longWindow}, {{ $value | humanizePercentage }} failed it (budget: ${percent(errorBudget(slo))}): ` +
        `a burn of ${alert.burnRate}x or more, so at least ${percent(budgetSpent(alert))} of the ${SLO_PERIOD_HOURS / 24}-day budget went in that time; ` +
        `at this pace all of it would last ${lastsDays} days at most.`,
      runbook: slo.runbook,
      ...(options.runbookBaseUrl ? { runbook_url: `${options.runbookBaseUrl}#${slo.name}` } : {}),
    },
  };
}

/**
 * One group per SLO: the sampled SLI (if any), the error ratio per window, the objective, then the
 * alerts. Rules of a group run in order, so the alerts read ratios of the same evaluation.
 */
export function sloRuleGroups(slos: readonly ServiceLevelObjective[], options: SloRulesOptions = {}): SloRuleGroup[] {
  validateSlos(slos);
  return slos.map((slo) => {
    const labels = { slo: slo.name };
    const sampled: RecordingRule[] =
      slo.sli.kind === 'samples'
        ? [
            { record: SLO_SERIES.badSample, expr: slo.sli.bad, labels },
            { record: SLO_SERIES.totalSample, expr: slo.sli.total, labels },
          ]
        : [];
    return {
      name: `sdp-slo-${slo.name}`,
      rules: [
        ...sampled,
        ...SLO_WINDOWS.map((w) => ({ record: SLO_SERIES.errorRatio(w), expr: errorRatioExpr(slo, w), labels })),
        { record: SLO_SERIES.objective, expr: `vector(${slo.objective})`, labels },
        ...BURN_RATE_ALERTS.map((a) => alertRule(slo, a, options)),
      ],
    };
  });
}

/** A Prometheus rules file, as `promtool check rules` / `promtool test rules` read it. */
export function renderSloRulesFile(slos: readonly ServiceLevelObjective[], options: SloRulesOptions = {}): string {
  return stringify({ groups: sloRuleGroups(slos, options) }, { lineWidth: 0, aliasDuplicateObjects: false });
}
