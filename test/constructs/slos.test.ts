import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { parse, stringify } from 'yaml';
import { allApps, apps } from '../../apps/contracts/apps';
import { lakeSinkEnv } from '../../apps/lake-sink/config';
import { createMetrics } from '../../apps/lib/metrics';
import { PlatformAddons } from '../../constructs/cluster-addons';
import {
  BURN_RATE_ALERTS,
  budgetSpent,
  CASSANDRA_FRESHNESS_SECONDS,
  errorRatioExpr,
  LAKE_FRESHNESS_SECONDS,
  PipelineObservability,
  platformSlos,
  RecordingRule,
  renderSloRulesFile,
  ServiceLevelObjective,
  SLO_ALERT_NAME,
  SLO_SERIES,
  SLO_WINDOWS,
  SloAlertRule,
  sloDashboard,
  sloRuleGroups,
  validateSlos,
  windowHours,
} from '../../constructs/observability';

const PROMTOOL_TESTS = join(__dirname, '..', 'promtool', 'slos');

/** Writes the rules of `slos` next to copies of test/promtool/slos/*.test.yml and runs promtool on them. */
function promtool(slos: readonly ServiceLevelObjective[], command: 'test' | 'check') {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-slos-'));
  writeFileSync(join(dir, 'slos.rules.yml'), renderSloRulesFile(slos));
  const tests = readdirSync(PROMTOOL_TESTS).filter((f) => f.endsWith('.test.yml'));
  for (const f of tests) copyFileSync(join(PROMTOOL_TESTS, f), join(dir, f));
  const args = command === 'test' ? ['test', 'rules', ...tests] : ['check', 'rules', 'slos.rules.yml'];
  const res = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  if (res.error) throw new Error(`promtool is not installed (scripts/test.sh installs Debian's prometheus package): ${res.error.message}`);
  return { status: res.status, output: `${res.stdout}\n${res.stderr}`, tests };
}

const isRecording = (r: RecordingRule | SloAlertRule): r is RecordingRule => 'record' in r;
const isAlert = (r: RecordingRule | SloAlertRule): r is SloAlertRule => 'alert' in r;

const slo = (overrides: Partial<ServiceLevelObjective>): ServiceLevelObjective => ({
  name: 'test-slo',
  description: 'A test objective.',
  objective: 0.99,
  sli: { kind: 'events', total: 'requests_total', bad: 'errors_total' },
  runbook: 'Look at it.',
  ...overrides,
});

describe('the burn-rate table', () => {
  it("is the SRE workbook's: 2% and 5% of a 30-day budget page, 10% opens a ticket, each short window a twelfth of its long one", () => {
    expect(BURN_RATE_ALERTS.map((a) => [a.severity, a.longWindow, a.shortWindow, a.burnRate, budgetSpent(a)])).toEqual([
      ['critical', '1h', '5m', 14.4, 0.02],
      ['critical', '6h', '30m', 6, 0.05],
      ['warning', '1d', '2h', 3, 0.1],
      ['warning', '3d', '6h', 1, 0.1],
    ]);
    for (const a of BURN_RATE_ALERTS) expect(windowHours(a.longWindow) / windowHours(a.shortWindow)).toBe(12);
    expect(SLO_WINDOWS).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
  });

  it('is the table docs/slos.md shows', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'slos.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(critical|warning)` \| (page|ticket) \| (\w+) \| (\w+) \| ([\d.]+) \| (\d+)% \|$/gm)];
    expect(rows.map((m) => [m[1], m[2], m[3], m[4], Number(m[5]), Number(m[6]) / 100])).toEqual(
      BURN_RATE_ALERTS.map((a) => [a.severity, a.response, a.longWindow, a.shortWindow, a.burnRate, budgetSpent(a)]),
    );
    for (const s of platformSlos) expect(doc).toContain(`\`${s.name.replace(/^availability-.*/, 'availability-<app>')}\``);
  });

  it('refuses a window that is not whole minutes, hours or days', () => {
    expect(() => windowHours('90s')).toThrow(/'90s' must be a whole number of minutes, hours or days/);
  });
});

describe('SLO rule generator', () => {
  const groups = sloRuleGroups(platformSlos);

  it('gives every SLO its own group with an error-ratio rule for every window and its objective', () => {
    expect(groups.map((g) => g.name)).toEqual(platformSlos.map((s) => `sdp-slo-${s.name}`));
    groups.forEach((g, i) => {
      const s = platformSlos[i];
      const records = g.rules.filter(isRecording);
      expect(records.filter((r) => r.record.startsWith('sdp_slo:error_ratio:')).map((r) => r.record)).toEqual(SLO_WINDOWS.map(SLO_SERIES.errorRatio));
      for (const r of records) expect(r.labels).toEqual({ slo: s.name });
      for (const w of SLO_WINDOWS) expect(records.find((r) => r.record === SLO_SERIES.errorRatio(w))!.expr).toBe(errorRatioExpr(s, w));
      expect(records.find((r) => r.record === SLO_SERIES.objective)!.expr).toBe(`vector(${s.objective})`);
      const sampled = records.filter((r) => r.record === SLO_SERIES.badSample || r.record === SLO_SERIES.totalSample);
      expect(sampled).toHaveLength(s.sli.kind === 'samples' ? 2 : 0);
    });
  });

  it('records a sampled SLI before the windows that read it, and the windows before the alerts', () => {
    for (const g of groups) {
      const kinds = g.rules.map((r) => (isAlert(r) ? 'alert' : r.record.includes(':sample') ? 'sample' : 'window'));
      expect(kinds.join(',')).toMatch(/^(sample,)*(window,)+alert(,alert)*$/);
    }
  });

  it('pairs the long and the short window of each table row at the same threshold, burn rate x budget', () => {
    groups.forEach((g, i) => {
      const s = platformSlos[i];
      const alerts = g.rules.filter(isAlert);
      expect(alerts).toHaveLength(BURN_RATE_ALERTS.length);
      alerts.forEach((a, j) => {
        const row = BURN_RATE_ALERTS[j];
        const threshold = Number((row.burnRate * (1 - s.objective)).toFixed(10));
        expect(a.alert).toBe(SLO_ALERT_NAME);
        expect(a.expr).toBe(
          `sdp_slo:error_ratio:rate${row.longWindow}{slo="${s.name}"} >= ${threshold} and sdp_slo:error_ratio:rate${row.shortWindow}{slo="${s.name}"} >= ${threshold}`,
        );
        expect(a.labels).toEqual({
          ...s.labels,
          severity: row.severity,
          platform: 'sdp',
          slo: s.name,
          long_window: row.longWindow,
          short_window: row.shortWindow,
        });
        expect(a.annotations.runbook).toBe(s.runbook);
        expect(a.annotations.description.startsWith(s.description)).toBe(true);
        expect(a.annotations.runbook_url).toBeUndefined();
      });
    });
  });

  it('links each alert to the runbook section of its SLO when given a base URL', () => {
    const [group] = sloRuleGroups([platformSlos[0]], { runbookBaseUrl: 'https://runbooks.example.com/slos' });
    for (const a of group.rules.filter(isAlert)) expect(a.annotations.runbook_url).toBe(`https://runbooks.example.com/slos#${platformSlos[0].name}`);
  });

  it('drops a zero denominator instead of dividing by it, and counts bad events that never happened as 0', () => {
    expect(errorRatioExpr(slo({}), '1h')).toBe('(sum(rate(errors_total[1h])) or vector(0)) / (sum(rate(requests_total[1h])) > 0)');
    expect(errorRatioExpr(slo({ sli: { kind: 'events', total: 'requests_total', good: 'ok_total' } }), '5m')).toBe(
      '(sum(rate(requests_total[5m])) - (sum(rate(ok_total[5m])) or vector(0))) / (sum(rate(requests_total[5m])) > 0)',
    );
    expect(errorRatioExpr(slo({ sli: { kind: 'samples', bad: 'sum(down)', total: 'sum(wanted)' } }), '3d')).toBe(
      'sum(sum_over_time(sdp_slo:bad:sample{slo="test-slo"}[3d])) / (sum(sum_over_time(sdp_slo:total:sample{slo="test-slo"}[3d])) > 0)',
    );
  });
});

describe('SLO validation', () => {
  it.each([1, 0, -0.5, 1.5, Number.NaN])('refuses objective %p, naming the SLO', (objective) => {
    expect(() => sloRuleGroups([slo({ name: 'freshness-x', objective })])).toThrow(
      new RegExp(`^SLO 'freshness-x': objective \\(${objective}\\) must be strictly between 0 and 1`),
    );
    expect(() => sloDashboard([slo({ name: 'freshness-x', objective })])).toThrow(/SLO 'freshness-x': objective/);
  });

  it('accepts objectives just inside the bounds', () => {
    expect(() => validateSlos([slo({ name: 'a', objective: 0.0001 }), slo({ name: 'b', objective: 0.9999 })])).not.toThrow();
  });

  it('refuses event SLIs with both or neither of good and bad, or with a range or function', () => {
    const both = { kind: 'events', total: 't', good: 'g', bad: 'b' } as unknown as ServiceLevelObjective['sli'];
    const neither = { kind: 'events', total: 't' } as unknown as ServiceLevelObjective['sli'];
    expect(() => validateSlos([slo({ sli: both })])).toThrow("SLO 'test-slo': sli of kind events needs exactly one of good and bad");
    expect(() => validateSlos([slo({ sli: neither })])).toThrow(/exactly one of good and bad/);
    expect(() => validateSlos([slo({ sli: { kind: 'events', total: 'rate(t[5m])', bad: 'b' } })])).toThrow(
      /SLO 'test-slo': sli.total \('rate\(t\[5m\]\)'\) must be a counter selector/,
    );
  });

  it('refuses a name twice, a name that is not a DNS label, and labels the generator sets', () => {
    expect(() => validateSlos([slo({}), slo({})])).toThrow("SLO 'test-slo': name is declared twice");
    expect(() => validateSlos([slo({ name: 'Freshness_X' })])).toThrow(/SLO 'Freshness_X': name must be a DNS label/);
    expect(() => validateSlos([slo({ labels: { severity: 'page' } })])).toThrow("SLO 'test-slo': labels must not set 'severity': the generator sets it");
  });
});

describe('platform SLOs', () => {
  const byName = new Map(platformSlos.map((s) => [s.name, s]));

  it('are freshness per store, the dead-letter share and the availability of every catalog app', () => {
    expect([...byName.keys()]).toEqual(['freshness-cassandra', 'freshness-lake', 'dead-letter-share', ...allApps.map((a) => `availability-${a.name}`)]);
    expect(byName.get('freshness-cassandra')!.objective).toBe(0.99);
    expect(byName.get('freshness-lake')!.objective).toBe(0.99);
  });

  it('read metrics the apps export, and freshness bounds that are buckets of their latency histogram', async () => {
    const exported = await createMetrics('test').registry.getMetricsAsJSON();
    const names = new Set(exported.flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_count`] : [m.name])));
    const unknown = platformSlos
      .filter((x) => x.sli.kind === 'events')
      .flatMap((s) => {
        const sli = s.sli as { total: string; good?: string; bad?: string };
        return [sli.total, sli.good, sli.bad].filter((x): x is string => x !== undefined).map((selector) => `${s.name}: ${selector.split('{')[0]}`);
      })
      .filter((used) => !names.has(used.split(': ')[1]));
    expect(unknown).toEqual([]);
    const latency = exported.find((m) => m.name === 'sdp_end_to_end_latency_seconds')!;
    const bounds = (latency.values as { metricName?: string; labels: Record<string, unknown> }[])
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((v) => v.labels.le);
    expect(bounds).toEqual(expect.arrayContaining([CASSANDRA_FRESHNESS_SECONDS, LAKE_FRESHNESS_SECONDS]));
    expect((byName.get('freshness-cassandra')!.sli as { good: string }).good).toContain(`app="${apps.cassandraSink.name}", le=~"5|5\\\\.0"`);
    expect((byName.get('freshness-lake')!.sli as { good: string }).good).toContain(`app="${apps.lakeSink.name}", le=~"30|30\\\\.0"`);
  });

  it("give the lake more than the lake sink's idle flush and its timer tick", () => {
    const idleFlushMs = lakeSinkEnv.shape.LAKE_SINK_IDLE_FLUSH_MS.parse(undefined);
    expect(LAKE_FRESHNESS_SECONDS * 1000).toBeGreaterThan(idleFlushMs + 1000);
  });

  it('are valid Prometheus rules', () => {
    const res = promtool(platformSlos, 'check');
    const perSlo = platformSlos.map((s) => SLO_WINDOWS.length + 1 + BURN_RATE_ALERTS.length + (s.sli.kind === 'samples' ? 2 : 0));
    expect(res.output).toContain(`SUCCESS: ${perSlo.reduce((a, b) => a + b, 0)} rules found`);
    expect(res.status).toBe(0);
  }, 60_000);

  it('fire and stay quiet as test/promtool/slos expects: thresholds, spikes, slow burns, recovery, no traffic', () => {
    const res = promtool(platformSlos, 'test');
    expect(res.tests.length).toBeGreaterThan(0);
    expect(res.output).toContain('SUCCESS');
    expect(res.status).toBe(0);
  }, 120_000);

  it('are what the promtool tests pin down: a looser dead-letter objective fails them', () => {
    const looser = platformSlos.map((s) => (s.name === 'dead-letter-share' ? { ...s, objective: 0.98 } : s));
    const res = promtool(looser, 'test');
    expect(res.status).not.toBe(0);
    expect(res.output).toMatch(/alertname: SdpErrorBudgetBurn, time: 6h/);
  }, 120_000);
});

describe('SLO dashboard', () => {
  const dashboard = sloDashboard(platformSlos) as any;
  const rows = dashboard.panels.filter((p: any) => p.type === 'row');
  const panels = dashboard.panels.filter((p: any) => p.type !== 'row');

  it('has a row per SLO with the budget left, the burn rate per window and the SLI', () => {
    expect(dashboard.uid).toBe('sdp-slos');
    expect(rows.map((r: any) => r.title)).toEqual(platformSlos.map((s) => `${s.name}: ${Number((s.objective * 100).toFixed(6))}%`));
    expect(panels.map((p: any) => p.title)).toEqual(platformSlos.flatMap(() => ['Error budget remaining', 'Burn rate', 'SLI']));
    platformSlos.forEach((s, i) => {
      const [budget, burn, sli] = panels.slice(3 * i, 3 * i + 3);
      const errorBudget = Number((1 - s.objective).toFixed(10));
      expect(budget.type).toBe('stat');
      expect(budget.targets[0]).toMatchObject({ instant: true, expr: `1 - (${errorRatioExpr(s, '$__range')}) / ${errorBudget}` });
      expect(burn.targets.map((t: any) => t.expr)).toEqual(SLO_WINDOWS.map((w) => `sdp_slo:error_ratio:rate${w}{slo="${s.name}"} / ${errorBudget}`));
      expect(burn.targets.map((t: any) => t.legendFormat)).toEqual([...SLO_WINDOWS]);
      expect(burn.fieldConfig.defaults.thresholds.steps.map((x: any) => x.value)).toEqual([null, 1, 3, 6, 14.4]);
      expect(sli.targets.map((t: any) => t.expr)).toEqual([
        `1 - sdp_slo:error_ratio:rate5m{slo="${s.name}"}`,
        `1 - sdp_slo:error_ratio:rate1h{slo="${s.name}"}`,
        `sdp_slo:objective:ratio{slo="${s.name}"}`,
      ]);
      for (const p of [budget, burn, sli]) expect(p.gridPos.y).toBe(rows[i].gridPos.y + 1);
    });
  });

  it('has queries Prometheus parses (promtool check rules over them as recording rules)', () => {
    const exprs: string[] = panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
    const rules = exprs.map((e, i) => ({ record: `sdp:dashboard_query_${i}`, expr: e.replace(/\$__range/g, '7d') }));
    writeFileSync(join(dir, 'queries.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const res = spawnSync('promtool', ['check', 'rules', 'queries.yml'], { cwd: dir, encoding: 'utf8' });
    if (res.error) throw new Error(`promtool is not installed: ${res.error.message}`);
    expect(`${res.stdout}${res.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
  }, 60_000);
});

describe('PipelineObservability with SLOs', () => {
  const stack = new TerraformStack(Testing.app(), 'test');
  const addons: PlatformAddons = { monitoringNamespace: 'monitoring', customResourceDependencies: [] };
  new PipelineObservability(stack, 'observability', { addons, namespaces: ['processor'], runbookBaseUrl: 'https://runbooks.example.com/sdp' });
  const synth = JSON.parse(Testing.synth(stack));

  it('deploys the SLO rules as a second PrometheusRule of the alerts release', () => {
    const [release] = Object.values(synth.resource.helm_release) as any[];
    const rules = parse(release.values[0]).prometheusRules;
    expect(rules.map((r: any) => r.name)).toEqual(['sdp-pipeline', 'sdp-slos']);
    expect(rules[1].spec.groups).toEqual(sloRuleGroups(platformSlos, { runbookBaseUrl: 'https://runbooks.example.com/sdp' }));
  });

  it('provisions the SLO dashboard through the Grafana sidecar, escaped for Terraform', () => {
    const cm = Object.values(synth.resource.kubernetes_config_map_v1).find((c: any) => c.metadata.name === 'sdp-slos-dashboard') as any;
    expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    const text: string = cm.data['sdp-slos.json'];
    expect(text).toContain('$${datasource}');
    expect(text).not.toMatch(/(^|[^$])\$\{/);
    expect(JSON.parse(text.replace(/\$\$\{/g, '${'))).toEqual(JSON.parse(JSON.stringify(sloDashboard(platformSlos))));
  });
});
