import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { parse } from 'yaml';
import { PlatformAddons } from '../../constructs/cluster-addons';
import { stringify } from 'yaml';
import { MSK_OPEN_MONITORING_PORTS } from '../../constructs/kafka-cluster';
import {
  kafkaBrokerDashboard,
  KafkaBrokerDashboard,
  MSK_SCRAPE_JOBS,
  mskScrapeConfigs,
  pipelineAlertRules,
  PipelineAlertsConfig,
  pipelineDashboard,
  PipelineObservability,
  prometheusRuleGroups,
  renderRulesFile,
} from '../../constructs/observability';

const NAMESPACES = ['producer', 'processor', 'cassandra-sink', 'lake-sink'];
const PROMTOOL_TESTS = join(__dirname, '..', 'promtool');

/** Writes the rendered rules next to copies of test/promtool/*.test.yml and runs promtool on them. */
function promtool(config: PipelineAlertsConfig, command: 'test' | 'check') {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
  writeFileSync(join(dir, 'pipeline-alerts.rules.yml'), renderRulesFile(pipelineAlertRules(config)));
  const tests = readdirSync(PROMTOOL_TESTS).filter((f) => f.endsWith('.test.yml'));
  for (const f of tests) copyFileSync(join(PROMTOOL_TESTS, f), join(dir, f));
  const args = command === 'test' ? ['test', 'rules', ...tests] : ['check', 'rules', 'pipeline-alerts.rules.yml'];
  const res = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  if (res.error) throw new Error(`promtool is not installed (scripts/test.sh installs Debian's prometheus package): ${res.error.message}`);
  return { status: res.status, output: `${res.stdout}\n${res.stderr}`, tests };
}

describe('pipeline alert rules', () => {
  const config = { namespaces: NAMESPACES };

  it('are valid Prometheus rules', () => {
    const res = promtool(config, 'check');
    expect(res.output).toContain('SUCCESS: 5 rules found');
    expect(res.status).toBe(0);
  });

  it('fire and stay quiet as test/promtool expects (promtool test rules)', () => {
    const res = promtool(config, 'test');
    expect(res.tests.length).toBeGreaterThan(0);
    expect(res.output).toContain('SUCCESS');
    expect(res.status).toBe(0);
  }, 30_000);

  it('are what the promtool tests pin down: a looser threshold makes them fail', () => {
    const res = promtool({ ...config, thresholds: { deadLetterRatio: 0.1, sinkErrorsPerSecond: 1 } }, 'test');
    expect(res.status).not.toBe(0);
    expect(res.output).toMatch(/alertname: SdpDeadLetterRateHigh/);
    expect(res.output).toMatch(/alertname: SdpSinkErrors/);
  }, 30_000);

  it('cover lag, DLQ rate, sink errors, stalled consumers and crash loops, each with a runbook', () => {
    const [group] = prometheusRuleGroups(pipelineAlertRules(config), 'https://runbooks.example.com/sdp');
    expect(group.rules.map((r) => r.alert)).toEqual([
      'SdpConsumerLagGrowing',
      'SdpDeadLetterRateHigh',
      'SdpSinkErrors',
      'SdpNoEventsProcessed',
      'SdpPodCrashLooping',
    ]);
    for (const r of group.rules) {
      expect(r.labels.severity).toMatch(/^(warning|critical)$/);
      expect(r.annotations.summary).toBeTruthy();
      expect(r.annotations.description).toBeTruthy();
      expect(r.annotations.runbook.length).toBeGreaterThan(20);
      expect(r.annotations.runbook_url).toBe(`https://runbooks.example.com/sdp#${r.alert.toLowerCase()}`);
    }
  });

  it('refuse an empty namespace list', () => {
    expect(() => pipelineAlertRules({ namespaces: [] })).toThrow(/must not be empty/);
  });
});

describe('pipeline dashboard', () => {
  const dashboard = pipelineDashboard({ namespaces: NAMESPACES }) as any;
  const exprs = (title: string) => dashboard.panels.find((p: any) => p.title === title).targets.map((t: any) => t.expr);

  it('has the six pipeline panels on a grid, each with queries', () => {
    expect(dashboard.uid).toBe('sdp-pipeline');
    expect(dashboard.panels.map((p: any) => p.title)).toEqual([
      'Throughput',
      'End-to-end latency',
      'Consumer lag',
      'Dead-letter rate',
      'Sink errors',
      'Pod restarts',
    ]);
    for (const p of dashboard.panels) {
      expect(p.targets.length).toBeGreaterThan(0);
      expect(p.gridPos).toMatchObject({ w: 12, h: 8 });
      expect(new Set(p.targets.map((t: any) => t.refId)).size).toBe(p.targets.length);
    }
  });

  it("queries the apps' metrics", () => {
    expect(exprs('End-to-end latency')).toEqual(
      [0.5, 0.95, 0.99].map((q) => expect.stringContaining(`histogram_quantile(${q}, sum by (app, le) (rate(sdp_end_to_end_latency_seconds_bucket`)),
    );
    expect(exprs('Throughput').join()).toMatch(/sdp_records_in_total.*sdp_records_out_total/);
    expect(exprs('Consumer lag')[0]).toContain('sdp_consumer_lag');
    expect(exprs('Dead-letter rate')[0]).toContain('sum by (app, reason) (rate(sdp_dlq_records_total');
    expect(exprs('Sink errors')[0]).toContain('sdp_errors_total{app=~"cassandra-sink|lake-sink"}');
    expect(exprs('Pod restarts')[0]).toContain('kube_pod_container_status_restarts_total{namespace=~"producer|processor|cassandra-sink|lake-sink"}');
  });
});

describe('PipelineObservability', () => {
  const stack = new TerraformStack(Testing.app(), 'test');
  const addons: PlatformAddons = { monitoringNamespace: 'monitoring', customResourceDependencies: [] };
  new PipelineObservability(stack, 'observability', { addons, namespaces: NAMESPACES });
  const synth = JSON.parse(Testing.synth(stack));

  it('deploys the same rules as a PrometheusRule through the local chart', () => {
    const release = Object.values(synth.resource.helm_release)[0] as any;
    expect(release).toMatchObject({ name: 'sdp-pipeline-alerts', namespace: 'monitoring' });
    const rule = parse(release.values[0]).prometheusRules[0];
    expect(rule.name).toBe('sdp-pipeline');
    expect(rule.spec.groups).toEqual(prometheusRuleGroups(pipelineAlertRules({ namespaces: NAMESPACES })));
  });

  it('provisions the dashboard through the Grafana sidecar, escaped for Terraform', () => {
    const cm = Object.values(synth.resource.kubernetes_config_map_v1)[0] as any;
    expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    const text: string = cm.data['sdp-pipeline.json'];
    // Terraform would try to interpolate Grafana's ${datasource}.
    expect(text).toContain('$${datasource}');
    expect(text).not.toMatch(/(^|[^$])\$\{/);
    const json = JSON.parse(text.replace(/\$\$\{/g, '${'));
    expect(json).toEqual(JSON.parse(JSON.stringify(pipelineDashboard({ namespaces: NAMESPACES }))));
  });
});

describe('MSK broker scraping', () => {
  const stack = new TerraformStack(Testing.app(), 'test');
  const bootstrap = 'b-2.sdp-test.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-1.sdp-test.abc123.c2.kafka.eu-west-1.amazonaws.com:9098';
  const configs = mskScrapeConfigs(stack, { bootstrapBrokers: bootstrap, brokerCount: 3, clusterName: 'sdp-test' }) as any[];
  const synth = JSON.parse(Testing.synth(stack));

  it('scrapes every broker on both exporter ports, labelled with the cluster and the broker id', () => {
    expect(configs.map((c) => c.job_name)).toEqual([MSK_SCRAPE_JOBS.jmxExporter, MSK_SCRAPE_JOBS.nodeExporter]);
    const [localName] = Object.keys(synth.locals);
    for (const [i, port] of [MSK_OPEN_MONITORING_PORTS.jmxExporter, MSK_OPEN_MONITORING_PORTS.nodeExporter].entries()) {
      const targets: string[] = configs[i].static_configs[0].targets.map((t: string) => t.replace(/\$\{TfToken\[[^\]]+\]\}/, 'DOMAIN'));
      expect(configs[i].static_configs[0].labels).toEqual({ cluster: 'sdp-test' });
      expect(targets).toHaveLength(3);
      expect(targets.every((t, b) => t.startsWith(`b-${b + 1}.`) && t.endsWith(`:${port}`))).toBe(true);
    }
    // The brokers' domain comes from the bootstrap string at apply time (checked with `terraform console`).
    expect(synth.locals[localName]).toMatch(/^\$\{element\(regex\("\^b-\[0-9\]\+\[\.\]\(\[\^:,\]\+\)", .+\), 0\)\}$/);
    expect(configs[0].relabel_configs[0]).toMatchObject({ source_labels: ['__address__'], target_label: 'broker' });
    expect(new RegExp(`^${configs[0].relabel_configs[0].regex}$`).exec('b-12.sdp-test.abc.c2.kafka.eu-west-1.amazonaws.com:11001')?.[1]).toBe('12');
  });

  it('refuses a broker count that is not a positive integer', () => {
    expect(() => mskScrapeConfigs(new TerraformStack(Testing.app(), 'x'), { bootstrapBrokers: bootstrap, brokerCount: 0, clusterName: 'c' })).toThrow(
      /brokerCount \(0\)/,
    );
  });
});

describe('Kafka broker dashboard', () => {
  const dashboard = kafkaBrokerDashboard() as any;
  const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));

  it('shows under-replicated partitions, ISR shrinks, request latency and bytes per topic from the JMX exporter', () => {
    expect(dashboard.uid).toBe('sdp-kafka-brokers');
    expect(exprs.join('\n')).toMatch(
      /name="UnderReplicatedPartitions"[\s\S]*name="IsrShrinksPerSec"[\s\S]*RequestMetrics_99thPercentile[\s\S]*name="BytesInPerSec"[\s\S]*name="BytesOutPerSec"/,
    );
    for (const e of exprs) expect(e).toContain(`job="${MSK_SCRAPE_JOBS.jmxExporter}"`);
  });

  it('has queries Prometheus parses (promtool check rules over them as recording rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
    const rules = exprs.map((e, i) => ({ record: `sdp:dashboard_query_${i}`, expr: e.replace(/\$__rate_interval/g, '5m') }));
    writeFileSync(join(dir, 'queries.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const res = spawnSync('promtool', ['check', 'rules', 'queries.yml'], { cwd: dir, encoding: 'utf8' });
    if (res.error) throw new Error(`promtool is not installed: ${res.error.message}`);
    expect(`${res.stdout}${res.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('is provisioned through the Grafana sidecar, escaped for Terraform', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    new KafkaBrokerDashboard(stack, 'brokers', { addons: { monitoringNamespace: 'monitoring', customResourceDependencies: [] } });
    const cm = Object.values(JSON.parse(Testing.synth(stack)).resource.kubernetes_config_map_v1)[0] as any;
    expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    expect(JSON.parse(cm.data['sdp-kafka-brokers.json'].replace(/\$\$\{/g, '${'))).toEqual(JSON.parse(JSON.stringify(dashboard)));
  });
});
