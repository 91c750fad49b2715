import { Release } from '@cdktf/provider-helm/lib/release';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { dev, validateEnvironment } from '../../config';
import { validateBootstrap } from '../../config/bootstrap';
import { deliveryFor } from '../../main';
import { PlatformStack } from '../../stacks/platform-stack';
import { GRAFANA_SERVICE_ACCOUNT, kubePrometheusStack } from '../../constructs/addons';
import { CLOUDWATCH_DATASOURCE_UID, cloudWatchDatasource, keyspacesDashboard, KeyspacesMetrics } from '../../constructs/observability';
import { FakeCluster, synth, testStack } from './addons/support';

const KEYSPACE = { keyspaceName: 'telemetry', tableNames: ['readings', 'aggregates'] };

function deployed() {
  const stack = testStack();
  const cluster = new FakeCluster(stack, 'cluster');
  const release = new Release(stack, 'kube-prometheus-stack', { name: 'kube-prometheus-stack', chart: 'kube-prometheus-stack', namespace: 'monitoring' });
  const metrics = new KeyspacesMetrics(stack, 'keyspaces-metrics', {
    cluster,
    addons: { monitoringNamespace: 'monitoring', releases: { 'kube-prometheus-stack': release } },
    keyspace: KEYSPACE,
    region: 'eu-west-1',
  });
  return { cluster, metrics, tf: synth(stack) as any };
}

describe('Grafana CloudWatch role', () => {
  const { cluster, tf } = deployed();

  it("is Grafana's own, through Pod Identity on its service account, which the chart is told to use", () => {
    expect(cluster.requested).toEqual([{ id: 'grafana-cloudwatch', namespace: 'monitoring', serviceAccount: GRAFANA_SERVICE_ACCOUNT }]);
    const values = kubePrometheusStack(testStack(), {}).values as any;
    expect(values.grafana.serviceAccount).toEqual({ create: true, name: GRAFANA_SERVICE_ACCOUNT });
  });

  it('may read CloudWatch metrics and nothing else: GetMetricData, GetMetricStatistics, ListMetrics on *', () => {
    const policies = Object.values(tf.resource.aws_iam_role_policy) as any[];
    expect(policies).toHaveLength(1);
    expect(policies[0].role).toMatch(/^\$\{aws_iam_role\.cluster_pod-identity-grafana-cloudwatch_role_[0-9A-F]+\.name\}$/);
    expect(JSON.parse(policies[0].policy)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadCloudWatchMetrics',
          Effect: 'Allow',
          Action: ['cloudwatch:GetMetricData', 'cloudwatch:GetMetricStatistics', 'cloudwatch:ListMetrics'],
          Resource: '*',
        },
      ],
    });
  });

  it("makes Grafana's release wait for the role, its association and its policy", () => {
    const [release] = Object.values(tf.resource.helm_release) as any[];
    const [association] = Object.keys(tf.resource.aws_eks_pod_identity_association);
    const [role] = Object.keys(tf.resource.aws_iam_role);
    const [policy] = Object.keys(tf.resource.aws_iam_role_policy);
    expect(release.depends_on).toEqual(
      expect.arrayContaining([`aws_eks_pod_identity_association.${association}`, `aws_iam_role.${role}`, `aws_iam_role_policy.${policy}`]),
    );
  });
});

describe('CloudWatch data source', () => {
  const { tf } = deployed();
  const cms = Object.values(tf.resource.kubernetes_config_map_v1) as any[];

  it('is provisioned by the Grafana datasource sidecar with the default AWS credential chain and the keyspace region', () => {
    const cm = cms.find((c) => c.metadata.name === 'sdp-cloudwatch-datasource');
    expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_datasource: '1' } });
    expect(parse(cm.data['sdp-cloudwatch.yaml'])).toEqual({
      apiVersion: 1,
      datasources: [
        {
          name: 'CloudWatch',
          type: 'cloudwatch',
          uid: CLOUDWATCH_DATASOURCE_UID,
          access: 'proxy',
          editable: false,
          jsonData: { authType: 'default', defaultRegion: 'eu-west-1' },
        },
      ],
    });
    // No keys, no assumed role: the only identity is the Pod Identity one.
    expect(JSON.stringify(cloudWatchDatasource('eu-west-1'))).not.toMatch(/secureJsonData|accessKey|secretKey|assumeRoleArn/);
  });
});

describe('Keyspaces dashboard', () => {
  const dashboard = keyspacesDashboard(KEYSPACE) as any;
  const panels = dashboard.panels.filter((p: any) => p.type !== 'row');

  it('has a row per table with throttling, latency and consumed capacity', () => {
    expect(dashboard.uid).toBe('sdp-keyspaces');
    expect(dashboard.refresh).toBe('5m');
    expect(dashboard.panels.filter((p: any) => p.type === 'row').map((r: any) => r.title)).toEqual(['telemetry.readings', 'telemetry.aggregates']);
    expect(panels.map((p: any) => p.title)).toEqual(KEYSPACE.tableNames.flatMap((t) => [`${t}: throttling`, `${t}: latency`, `${t}: consumed capacity`]));
  });

  it("queries AWS/Cassandra for each panel's metrics, on the table's dimensions, through the provisioned data source", () => {
    const queries = (title: string) =>
      panels.find((p: any) => p.title === title).targets.map((t: any) => [t.metricName, t.statistic, t.dimensions.TableName, t.matchExact]);
    expect(queries('readings: throttling')).toEqual([
      ['ReadThrottleEvents', 'Sum', 'readings', false],
      ['WriteThrottleEvents', 'Sum', 'readings', false],
      ['StoragePartitionThroughputCapacityExceeded', 'Sum', 'readings', false],
    ]);
    expect(queries('aggregates: latency')).toEqual([
      ['SuccessfulRequestLatency', 'Average', 'aggregates', false],
      ['SuccessfulRequestLatency', 'p99', 'aggregates', false],
    ]);
    expect(queries('aggregates: consumed capacity')).toEqual([
      ['ConsumedReadCapacityUnits', 'Sum', 'aggregates', false],
      ['ConsumedWriteCapacityUnits', 'Sum', 'aggregates', false],
    ]);
    for (const p of panels) {
      expect(p.datasource).toEqual({ type: 'cloudwatch', uid: CLOUDWATCH_DATASOURCE_UID });
      for (const t of p.targets) {
        expect(t).toMatchObject({ namespace: 'AWS/Cassandra', region: 'default', queryMode: 'Metrics', dimensions: { Keyspace: 'telemetry' } });
        expect(t.datasource).toEqual(p.datasource);
      }
      expect(new Set(p.targets.map((t: any) => t.refId)).size).toBe(p.targets.length);
    }
  });

  it('refuses a keyspace without tables', () => {
    expect(() => keyspacesDashboard({ keyspaceName: 'empty', tableNames: [] })).toThrow("keyspace 'empty' has no tables");
  });

  it("is provisioned through the Grafana sidecar, CloudWatch's dynamic labels escaped for Terraform", () => {
    const { tf } = deployed();
    const cm = (Object.values(tf.resource.kubernetes_config_map_v1) as any[]).find((c) => c.metadata.name === 'sdp-keyspaces-dashboard');
    expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
    const text: string = cm.data['sdp-keyspaces.json'];
    expect(text).toContain("$${PROP('Dim.Operation')}");
    expect(text).not.toMatch(/(^|[^$])\$\{/);
    expect(JSON.parse(text.replace(/\$\$\{/g, '${'))).toEqual(JSON.parse(JSON.stringify(dashboard)));
  });
});

describe('in an environment stack', () => {
  const config = validateEnvironment(dev);
  const tf = JSON.parse(Testing.synth(new PlatformStack(Testing.app(), { config, delivery: deliveryFor(validateBootstrap(), config.name) })));
  const kps = Object.values<any>(tf.resource.helm_release).find((r) => r.name === 'kube-prometheus-stack');
  const values = parse(kps.values[0]);
  const [associationName, association] = Object.entries<any>(tf.resource.aws_eks_pod_identity_association).find(
    ([, a]) => a.service_account === GRAFANA_SERVICE_ACCOUNT,
  )!;
  const configMaps = Object.values<any>(tf.resource.kubernetes_config_map_v1);

  it("binds the role to the service account and namespace Grafana's pods run as, before they are created", () => {
    expect(values.grafana.serviceAccount.name).toBe(GRAFANA_SERVICE_ACCOUNT);
    expect(association.namespace).toBe(kps.namespace);
    expect(kps.depends_on).toContain(`aws_eks_pod_identity_association.${associationName}`);
  });

  it("labels the data source and the dashboard as the chart's sidecars look for them, next to Grafana", () => {
    const datasource = configMaps.find((c) => c.metadata.name === 'sdp-cloudwatch-datasource');
    const dashboard = configMaps.find((c) => c.metadata.name === 'sdp-keyspaces-dashboard');
    const sidecar = values.grafana.sidecar;
    expect(datasource.metadata.labels[sidecar.datasources.label]).toBe(sidecar.datasources.labelValue);
    expect(dashboard.metadata.labels[sidecar.dashboards.label]).toBe(sidecar.dashboards.labelValue);
    // The datasource sidecar searches Grafana's own namespace only.
    expect(sidecar.datasources.searchNamespace).toBeUndefined();
    expect(datasource.metadata.namespace).toBe(kps.namespace);
    expect(parse(datasource.data['sdp-cloudwatch.yaml']).datasources[0].jsonData.defaultRegion).toBe(config.region);
  });

  it("shows every table of the environment's keyspace", () => {
    const dashboard = JSON.parse(configMaps.find((c) => c.metadata.name === 'sdp-keyspaces-dashboard').data['sdp-keyspaces.json'].replace(/\$\$\{/g, '${'));
    const tables = Object.values<any>(tf.resource.aws_keyspaces_table).map((t) => t.table_name);
    const rows = dashboard.panels.filter((p: any) => p.type === 'row').map((r: any) => r.title);
    expect(rows.sort()).toEqual(tables.map((t) => `${config.keyspaces.keyspaceName}.${t}`).sort());
  });
});
