/**
 * The SLO dashboard, generated from the same declarations as the rules (slos.ts): per SLO a row
 * with the error budget left, the burn rate over every alert window and the SLI against its
 * objective. Built with the Grafana Foundation SDK and provisioned like the pipeline dashboard.
 */
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import {
  Dashboard,
  DashboardBuilder,
  DatasourceVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE, query } from './pipeline-dashboard';
import { BURN_RATE_ALERTS, errorBudget, errorRatioExpr, SLO_SERIES, SLO_WINDOWS, validateSlos } from './slo-rules';
import { percent, ServiceLevelObjective, SLO_PERIOD_HOURS } from './slos';

export interface SloDashboardConfig {
  /** Stable uid, so links and bookmarks survive redeploys. @default 'sdp-slos' */
  readonly uid?: string;
  /** @default 'Streaming data platform / SLOs' */
  readonly title?: string;
}

const ROW_HEIGHT = 8;
const BURN_RATES = [...new Set(BURN_RATE_ALERTS.map((a) => a.burnRate))].sort((a, b) => a - b);

function budgetRemaining(slo: ServiceLevelObjective, y: number): StatPanelBuilder {
  return new StatPanelBuilder()
    .title('Error budget remaining')
    .description(
      `1 - error ratio / budget (${errorBudget(slo)}) over the dashboard's time range, as if it were the ${SLO_PERIOD_HOURS / 24}-day period ` +
        '(Prometheus keeps less). Below 0 the budget is spent.',
    )
    .datasource(DATASOURCE)
    .withTarget(
      query(`1 - (${errorRatioExpr(slo, '$__range')}) / ${errorBudget(slo)}`, 'remaining')
        .instant()
        .refId('A'),
    )
    .unit('percentunit')
    .decimals(1)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: 'red' },
        { value: 0.25, color: 'orange' },
        { value: 0.5, color: 'green' },
      ]),
    )
    .gridPos({ x: 0, y, w: 6, h: ROW_HEIGHT });
}

function burnRate(slo: ServiceLevelObjective, y: number): TimeseriesPanelBuilder {
  const p = new TimeseriesPanelBuilder()
    .title('Burn rate')
    .description(
      `Error ratio / budget per window: 1 spends exactly the budget in ${SLO_PERIOD_HOURS / 24} days. ` +
        BURN_RATE_ALERTS.map((a) => `${a.response} at ${a.burnRate} over ${a.longWindow} and ${a.shortWindow}`).join(', ') +
        '.',
    )
    .datasource(DATASOURCE)
    .unit('short')
    .min(0)
    .thresholds(
      new ThresholdsConfigBuilder()
        .mode(ThresholdsMode.Absolute)
        .steps([{ value: null, color: 'green' }, ...BURN_RATES.map((r, i) => ({ value: r, color: ['yellow', 'orange', 'red', 'dark-red'][i] ?? 'red' }))]),
    )
    .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
    .gridPos({ x: 6, y, w: 9, h: ROW_HEIGHT });
  SLO_WINDOWS.forEach((w, i) =>
    p.withTarget(query(`${SLO_SERIES.errorRatio(w)}{slo="${slo.name}"} / ${errorBudget(slo)}`, w).refId(String.fromCharCode(65 + i))),
  );
  return p;
}

function sli(slo: ServiceLevelObjective, y: number): TimeseriesPanelBuilder {
  const sel = `{slo="${slo.name}"}`;
  return new TimeseriesPanelBuilder()
    .title('SLI')
    .description(`${slo.description} Good share over 5 minutes and 1 hour, against the objective.`)
    .datasource(DATASOURCE)
    .unit('percentunit')
    .max(1)
    .withTarget(query(`1 - ${SLO_SERIES.errorRatio('5m')}${sel}`, 'SLI (5m)').refId('A'))
    .withTarget(query(`1 - ${SLO_SERIES.errorRatio('1h')}${sel}`, 'SLI (1h)').refId('B'))
    .withTarget(query(`${SLO_SERIES.objective}${sel}`, 'objective').refId('C'))
    .gridPos({ x: 15, y, w: 9, h: ROW_HEIGHT });
}

export function sloDashboard(slos: readonly ServiceLevelObjective[], config: SloDashboardConfig = {}): Dashboard {
  validateSlos(slos);
  const builder = new DashboardBuilder(config.title ?? 'Streaming data platform / SLOs')
    .uid(config.uid ?? 'sdp-slos')
    .tags(['sdp', 'slo', 'generated'])
    .readonly()
    .refresh('1m')
    .time({ from: 'now-7d', to: 'now' })
    .timezone('utc')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
  slos.forEach((slo, i) => {
    const y = i * (ROW_HEIGHT + 1);
    builder.withRow(new RowBuilder(`${slo.name}: ${percent(slo.objective)}`).gridPos({ x: 0, y, w: 24, h: 1 }));
    builder
      .withPanel(budgetRemaining(slo, y + 1))
      .withPanel(burnRate(slo, y + 1))
      .withPanel(sli(slo, y + 1));
  });
  return builder.build();
}
