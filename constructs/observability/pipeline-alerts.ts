/**
 * The pipeline's Prometheus alert rules, declared once. The same declaration is rendered into
 * the PrometheusRule deployed to the cluster (`prometheusRuleGroups`) and into a plain rules
 * file (`renderRulesFile`) that `promtool test rules` exercises in the unit tests.
 */
import { stringify } from 'yaml';

export type AlertSeverity = 'critical' | 'warning';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires. */
  readonly for: string;
  readonly severity: AlertSeverity;
  /** One line for the notification title; may use `{{ $labels.x }}`. */
  readonly summary: string;
  readonly description: string;
  /** The first thing the person on call should do, in one line. */
  readonly runbook: string;
}

export interface AlertRuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export interface PipelineAlertThresholds {
  /**
   * Lag (records, summed over a topic's partitions) below which a growing lag is not worth a page.
   * @default 1000
   */
  readonly consumerLagRecords?: number;
  /**
   * Share of input records sent to the dead-letter topic.
   * @default 0.01 (1%)
   */
  readonly deadLetterRatio?: number;
  /**
   * Sink write errors per second, per app and error kind.
   * @default 0.1
   */
  readonly sinkErrorsPerSecond?: number;
  /**
   * How long a consumer may process nothing while it has lag.
   * @default '10m'
   */
  readonly stalledFor?: string;
}

export interface PipelineAlertsConfig {
  /** Namespaces of the pipeline's pods, for the crash-loop rule. */
  readonly namespaces: readonly string[];
  /**
   * Apps (the `app` metric label) that consume from Kafka.
   * @default ['processor', 'cassandra-sink', 'lake-sink']
   */
  readonly consumerApps?: readonly string[];
  /**
   * Apps that write to a sink (Keyspaces, S3).
   * @default ['cassandra-sink', 'lake-sink']
   */
  readonly sinkApps?: readonly string[];
  readonly thresholds?: PipelineAlertThresholds;
  /**
   * When set, each alert also gets `runbook_url: <base>#<alert name in lower case>`.
   * @default no runbook_url (the one-line `runbook` annotation is always there)
   */
  readonly runbookBaseUrl?: string;
}

export const DEFAULT_CONSUMER_APPS = ['processor', 'cassandra-sink', 'lake-sink'] as const;
export const DEFAULT_SINK_APPS = ['cassandra-sink', 'lake-sink'] as const;

/** Label matcher value for an exact set of names: `"a|b"`, regex-escaped. */
function anyOf(values: readonly string[]): string {
  if (values.length === 0) throw new Error('pipeline alerts: an app or namespace list must not be empty');
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|');
}

/**
 * Lag per app and topic. The gauge is per partition and per pod; after a rebalance a pod may
 * still export the last value of a partition it lost, so take the max per partition first.
 */
function lagByTopic(appMatcher: string): string {
  return `sum by (app, topic) (max by (app, topic, partition) (sdp_consumer_lag{app=~"${appMatcher}"}))`;
}

export function pipelineAlertRules(config: PipelineAlertsConfig): AlertRuleGroup[] {
  const t = config.thresholds ?? {};
  const lagRecords = t.consumerLagRecords ?? 1000;
  const dlqRatio = t.deadLetterRatio ?? 0.01;
  const sinkErrors = t.sinkErrorsPerSecond ?? 0.1;
  const stalledFor = t.stalledFor ?? '10m';
  const consumers = anyOf(config.consumerApps ?? DEFAULT_CONSUMER_APPS);
  const sinks = anyOf(config.sinkApps ?? DEFAULT_SINK_APPS);
  const namespaces = anyOf(config.namespaces);

  return [
    {
      name: 'sdp-pipeline',
      rules: [
        {
          alert: 'SdpConsumerLagGrowing',
          expr: `(${lagByTopic(consumers)} > ${lagRecords}) and (sum by (app, topic) (delta(sdp_consumer_lag{app=~"${consumers}"}[15m])) > 0)`,
          for: '15m',
          severity: 'warning',
          summary: '{{ $labels.app }} is falling behind on {{ $labels.topic }}',
          description: 'Consumer lag of {{ $labels.app }} on {{ $labels.topic }} is {{ $value | humanize }} records and has grown for at least 15 minutes.',
          runbook:
            "Check the app's batch duration and sink errors; if it is CPU-bound and below its partition count, raise maxReplicas (KEDA scales on this lag).",
        },
        {
          alert: 'SdpDeadLetterRateHigh',
          expr: `(sum by (app) (rate(sdp_dlq_records_total[10m])) / sum by (app) (rate(sdp_records_in_total[10m]))) > ${dlqRatio}`,
          for: '10m',
          severity: 'warning',
          summary: '{{ $labels.app }} sends {{ $value | humanizePercentage }} of its input to the dead-letter topic',
          description: `More than ${dlqRatio * 100}% of the records {{ $labels.app }} reads go to the DLQ: producers are sending data the schema rejects.`,
          runbook:
            'Group sdp_dlq_records_total by reason, read a few DLQ records (the __dlq.errors.* headers name the source and the reason) and fix the sender or the schema.',
        },
        {
          alert: 'SdpSinkErrors',
          expr: `sum by (app, kind) (rate(sdp_errors_total{app=~"${sinks}"}[5m])) > ${sinkErrors}`,
          for: '10m',
          severity: 'critical',
          summary: '{{ $labels.app }} fails to write ({{ $labels.kind }})',
          description:
            '{{ $labels.app }} reports {{ printf "%.2f" $value }} {{ $labels.kind }} errors per second; records are retried and not committed, so lag builds up.',
          runbook:
            'Read the app logs for the error kind; check Keyspaces/S3 throttling and the IAM grants of the app role, then the VPC endpoints or NAT it writes through.',
        },
        {
          alert: 'SdpNoEventsProcessed',
          expr: `(${lagByTopic(consumers)} > 0) unless on (app) (sum by (app) (rate(sdp_records_in_total{app=~"${consumers}"}[${stalledFor}])) > 0)`,
          for: stalledFor,
          severity: 'critical',
          summary: '{{ $labels.app }} processes nothing while {{ $labels.topic }} has lag',
          description: `{{ $labels.app }} has read no record for ${stalledFor} although {{ $value | humanize }} records are waiting on {{ $labels.topic }}. An idle pipeline with nothing to read does not fire.`,
          runbook:
            'Check that the pods are Ready and not rebalancing in a loop (consumer group state), and that the app can reach MSK on 9098 (NetworkPolicy, security groups).',
        },
        {
          alert: 'SdpPodCrashLooping',
          expr: `max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", namespace=~"${namespaces}"}[5m])) >= 1`,
          for: '10m',
          severity: 'warning',
          summary: '{{ $labels.namespace }}/{{ $labels.pod }} is crash looping',
          description: 'Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 10 minutes.',
          runbook:
            'kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c {{ $labels.container }} --previous; a config error names the bad environment variable.',
        },
      ],
    },
  ];
}

interface PrometheusRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** Groups in the shape of a PrometheusRule `spec.groups` and of a Prometheus rules file. */
export function prometheusRuleGroups(groups: readonly AlertRuleGroup[], runbookBaseUrl?: string): { name: string; rules: PrometheusRule[] }[] {
  return groups.map((g) => ({
    name: g.name,
    rules: g.rules.map((r) => ({
      alert: r.alert,
      expr: r.expr,
      for: r.for,
      labels: { severity: r.severity, platform: 'sdp' },
      annotations: {
        summary: r.summary,
        description: r.description,
        runbook: r.runbook,
        ...(runbookBaseUrl ? { runbook_url: `${runbookBaseUrl}#${r.alert.toLowerCase()}` } : {}),
      },
    })),
  }));
}

/** A Prometheus rules file, as `promtool check rules` / `promtool test rules` read it. */
export function renderRulesFile(groups: readonly AlertRuleGroup[], runbookBaseUrl?: string): string {
  return stringify({ groups: prometheusRuleGroups(groups, runbookBaseUrl) }, { lineWidth: 0 });
}
