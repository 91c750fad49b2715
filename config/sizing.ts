/**
 * The sizing model: what a load of N readings per second needs from each app, MSK, Keyspaces and
 * the lake, from the benchmark's per-event costs (`npm run bench`, docs/benchmarks.md) and the
 * services' published limits. `npm run sizing` prints it (docs/sizing.md holds the same tables),
 * and config validation refuses an environment the model shows cannot carry its declared peak.
 *
 * Two bounds, on purpose. The bench machine is shared: the same code's CPU per event moved 2.3x
 * between two days. So a *refusal* uses the cheapest cost measured (if even that cannot work, the
 * config is wrong), and a *recommendation* plans for the dearest (cheapest x the spread).
 */
import { apps, AppKey } from '../apps/contracts/apps';
import { topics } from '../apps/contracts/topics';

/** One bench run's end-to-end figures, the model's only measured input. */
export const measured = {
  source: 'npm run bench -- --events 300000 --flink, 2026-12-02, commit 0eb5357, the quiet run of docs/benchmarks.md',
  /** CPU-µs per event of each Node app in the end-to-end stage. */
  cpuMicrosPerEvent: { producer: 30.2, processor: 59.8, cassandraSink: 44.8, lakeSink: 38.4, alerts: 8.8 } as Record<AppKey, number>,
  /** How far the same code's CPU per event moved between a quiet and a busy day on the bench machine. */
  dayToDaySpread: 2.3,
  /** Mean record sizes: raw reading, clean reading, and aggregates per reading (1-minute windows). */
  rawRecordBytes: 164,
  cleanRecordBytes: 170,
  aggregatesPerReading: 0.02,
} as const;

/** Published limits the model checks against (sources in docs/sizing.md). */
export const limits = {
  /** Amazon Keyspaces: CQL requests per second per TCP connection. */
  keyspacesRequestsPerConnection: 3_000,
  /** MSK with IAM access control: TCP connections per broker. */
  mskIamConnectionsPerBroker: 3_000,
  /** MSK Standard brokers: recommended partitions (leaders and followers) per broker. */
  mskPartitionsPerBroker: { large: 1_000, xlarge: 1_000, '2xlarge': 2_000, '4xlarge': 4_000 } as Record<string, number>,
  /** MSK: largest EBS volume per broker, GiB. */
  mskMaxVolumeGiB: 16_384,
} as const;

/** Planning assumptions, stated once: change them here and the doc and refusals follow. */
export const assumptions = {
  /** Share of a pod's CPU limit it is planned to use at peak. */
  podUtilisation: 0.7,
  /** Share of the Keyspaces per-connection quota a sink plans to use. */
  connectionUtilisation: 0.8,
  /**
   * Cassandra requests per row the cassandra-sink sends: batching.ts batches only rows of one
   * Cassandra partition (a device's day), and a Kafka batch rarely holds two readings of one
   * device, so one request per row is the case to plan for.
   */
  requestsPerRow: 1,
  /** Sustained ingress (before replication) an MSK broker is planned for, MB/s: a planning figure, confirm with a load test. */
  mskIngressMBps: { 'kafka.m7g.large': 20, 'kafka.m7g.xlarge': 40, 'kafka.m7g.2xlarge': 80, 'kafka.m7g.4xlarge': 160 } as Record<string, number>,
  /** Headroom on broker storage. */
  storageHeadroom: 1.25,
} as const;

/** List prices (eu-west-1, 730 h/month, as in the README's environment costs); orders of magnitude. */
export const prices = {
  mskBrokerMonth: { 'kafka.m7g.large': 150, 'kafka.m7g.xlarge': 300, 'kafka.m7g.2xlarge': 600, 'kafka.m7g.4xlarge': 1_200 } as Record<string, number>,
  mskStorageGBMonth: 0.11,
  /** m6i.xlarge on demand, 4 vCPU. */
  nodeMonth: 156,
  nodeVcpus: 4,
  /** Keyspaces on-demand, per million write request units (a row under 1 KB is one). */
  keyspacesOnDemandPerMillionWrites: 0.75,
  /** Keyspaces provisioned, per WCU-hour. */
  keyspacesWcuHour: 0.00075,
  /** S3 Standard PUT, per 1,000 requests. */
  s3PutPer1000: 0.005,
} as const;

const SECONDS_PER_MONTH = 730 * 3_600;

/** vCPUs of a Kubernetes CPU quantity ('500m', '1', '2'). */
export function cpuCores(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1_000 : Number(quantity);
}

/** Readings per second one pod of `app` carries at its CPU limit, planned utilisation, and the given cost. */
export function podCapacity(cores: number, micros: number): number {
  return (cores * 1e6 * assumptions.podUtilisation) / micros;
}

/** Fewest replicas of `app` that can carry `peak`, at the cheapest measured cost (the refusal bound). */
export function minimumReplicas(app: AppKey, peak: number, cores = cpuCores(apps[app].deployment.resources.limits.cpu!)): number {
  return Math.ceil(peak / podCapacity(cores, measured.cpuMicrosPerEvent[app]));
}

/** Replicas to plan for at `peak`, at the dearest cost (cheapest x the day-to-day spread). */
export function plannedReplicas(app: AppKey, peak: number, cores = cpuCores(apps[app].deployment.resources.limits.cpu!)): number {
  return Math.ceil(peak / podCapacity(cores, measured.cpuMicrosPerEvent[app] * measured.dayToDaySpread));
}

/** Cassandra requests per second the cassandra-sink sends at `peak` readings per second. */
export function keyspacesRequestsPerSec(peak: number): number {
  return peak * (1 + measured.aggregatesPerReading) * assumptions.requestsPerRow;
}

/** What one cassandra-sink pod's pool carries: connections per host x the hosts Keyspaces advertises x the quota. */
export function sinkPoolCapacity(connectionsPerHost: number, hosts: number): number {
  return connectionsPerHost * hosts * limits.keyspacesRequestsPerConnection * assumptions.connectionUtilisation;
}

/**
 * Kafka connections the apps open to each broker at their most replicas: a kafkajs client keeps
 * one per broker it talks to (all of them, at scale); every consumer pod has its consumer and a
 * DLQ producer, and the processor one transactional producer per raw partition across its pods.
 */
export function kafkaConnectionsPerBroker(maxReplicas: Readonly<Partial<Record<AppKey, number>>>, rawPartitions: number): number {
  const pods = Object.values(maxReplicas).reduce((sum, n) => sum + (n ?? 0), 0);
  return pods * 2 + rawPartitions;
}

export interface SizingRow {
  readonly peak: number;
  readonly partitions: number;
  readonly replicas: Readonly<Record<SizedApp, { readonly planned: number; readonly min: number; readonly max: number }>>;
  readonly msk: {
    readonly instanceType: string;
    readonly brokers: number;
    readonly ingressMBps: number;
    readonly storageGiBPerBroker: number;
    readonly partitionsPerBroker: number;
    readonly connectionsPerBroker: number;
  };
  readonly keyspaces: { readonly writesPerSec: number; readonly connections: number; readonly connectionsPerHostPerSinkPod: number };
  readonly lake: { readonly objectsPerHour: number; readonly putsPerHour: number };
  readonly nodes: number;
  readonly monthly: {
    readonly msk: number;
    readonly nodes: number;
    readonly keyspacesOnDemand: number;
    readonly keyspacesProvisioned: number;
    readonly lakePuts: number;
  };
}

export interface SizingOptions {
  readonly retentionHours: number;
  /** Hosts Keyspaces advertises through the VPC endpoint: one per endpoint ENI, one per AZ. */
  readonly keyspacesHosts: number;
  /** LAKE_SINK_MAX_RECORDS, LAKE_SINK_PART_RECORDS and LAKE_SINK_IDLE_FLUSH_MS. */
  readonly lakeMaxRecords: number;
  readonly lakePartRecords: number;
  readonly lakeIdleFlushMs: number;
}

export const defaultSizingOptions: SizingOptions = {
  retentionHours: 168,
  keyspacesHosts: 3,
  lakeMaxRecords: 50_000,
  lakePartRecords: 5_000,
  lakeIdleFlushMs: 10_000,
};

/** The apps a production load runs: the producer is the load generator (devices publish instead). */
export const SIZED_APPS: readonly SizedApp[] = ['processor', 'cassandraSink', 'lakeSink', 'alerts'];
export type SizedApp = Exclude<AppKey, 'producer'>;

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

/** The model at one load. */
export function sizeFor(peak: number, o: SizingOptions = defaultSizingOptions): SizingRow {
  const keys = SIZED_APPS;
  const planned = Object.fromEntries(keys.map((k) => [k, plannedReplicas(k, peak)])) as Record<SizedApp, number>;
  // Partitions: room for twice the planned replicas of the busiest consumer, in steps of 12 (2 per AZ, 3 AZs, 2 brokers each).
  const busiest = Math.max(...keys.map((k) => planned[k]));
  const partitions = Math.max(topics.raw.partitions, roundUp(busiest * 2, 12));
  const replicas = Object.fromEntries(
    keys.map((k) => {
      const min = Math.max(2, Math.ceil(planned[k] / 4));
      return [k, { planned: planned[k], min, max: Math.min(partitions, Math.max(min, planned[k] * 2)) }];
    }),
  ) as SizingRow['replicas'];

  const bytesPerReading = measured.rawRecordBytes + measured.cleanRecordBytes + measured.aggregatesPerReading * measured.cleanRecordBytes;
  const ingressMBps = (peak * bytesPerReading) / 1e6;
  const topicPartitions = partitions * 3 + topics.aggregates.partitions + topics.deadLetter.partitions + topics.alerts.partitions;
  const connectionsPerBroker = kafkaConnectionsPerBroker(Object.fromEntries(keys.map((k) => [k, replicas[k].max])), partitions);
  const storageGiB = (ingressMBps * 1e6 * 3 * o.retentionHours * 3_600 * assumptions.storageHeadroom) / 2 ** 30;
  // Per instance type, brokers in steps of 3 (one per AZ) for throughput, partitions and the largest volume; then the cheapest.
  const options = Object.keys(assumptions.mskIngressMBps).map((type) => {
    const partitionLimit = limits.mskPartitionsPerBroker[type.split('.').pop()!];
    const n = Math.max(
      3,
      roundUp(ingressMBps / assumptions.mskIngressMBps[type], 3),
      roundUp((topicPartitions * 3) / partitionLimit, 3),
      roundUp(storageGiB / limits.mskMaxVolumeGiB, 3),
    );
    return { type, brokers: n, cost: n * prices.mskBrokerMonth[type] };
  });
  const { type: instanceType, brokers } = options.reduce((best, x) => (x.cost < best.cost ? x : best));
  const storageGiBPerBroker = Math.ceil(storageGiB / brokers);

  const writesPerSec = Math.ceil(keyspacesRequestsPerSec(peak));
  const connections = Math.ceil(writesPerSec / (limits.keyspacesRequestsPerConnection * assumptions.connectionUtilisation));
  const connectionsPerHostPerSinkPod = Math.max(1, Math.ceil(connections / replicas.cassandraSink.planned / o.keyspacesHosts));

  const perPartitionPerHour = (peak * 3_600) / partitions;
  const objectsPerHour = partitions * Math.max(1, Math.ceil(perPartitionPerHour / o.lakeMaxRecords));
  // Each idle flush puts the open sub-block of every partition as a part (docs/lake.md); each
  // completed sub-block is put once more complete; each file is put once and its parts removed
  // with one DeleteObjects. Parts are deleted, so the objects kept per hour are the files.
  const putsPerHour = objectsPerHour * 2 + partitions * Math.ceil(3_600_000 / o.lakeIdleFlushMs) + Math.ceil((peak * 3_600) / o.lakePartRecords);

  const vcpus = keys.reduce((sum, k) => sum + planned[k] * cpuCores(apps[k].deployment.resources.limits.cpu!), 0);
  const nodes = Math.max(3, Math.ceil(vcpus / prices.nodeVcpus));
  const writesPerMonth = writesPerSec * SECONDS_PER_MONTH;
  return {
    peak,
    partitions,
    replicas,
    msk: {
      instanceType,
      brokers,
      ingressMBps: Math.round(ingressMBps * 10) / 10,
      storageGiBPerBroker,
      partitionsPerBroker: Math.ceil((topicPartitions * 3) / brokers),
      connectionsPerBroker,
    },
    keyspaces: { writesPerSec, connections, connectionsPerHostPerSinkPod },
    lake: { objectsPerHour, putsPerHour },
    nodes,
    monthly: {
      msk: Math.round(brokers * prices.mskBrokerMonth[instanceType] + brokers * storageGiBPerBroker * prices.mskStorageGBMonth),
      nodes: nodes * prices.nodeMonth,
      keyspacesOnDemand: Math.round((writesPerMonth / 1e6) * prices.keyspacesOnDemandPerMillionWrites),
      keyspacesProvisioned: Math.round((writesPerSec / 0.7) * 730 * prices.keyspacesWcuHour),
      lakePuts: Math.round(((putsPerHour * 730) / 1_000) * prices.s3PutPer1000),
    },
  };
}

export const SIZING_LOADS = [10_000, 100_000, 1_000_000] as const;

const n = (v: number) => v.toLocaleString('en-US');

/** The model's tables as Markdown, for `npm run sizing` and docs/sizing.md. */
export function sizingTables(o: SizingOptions = defaultSizingOptions): string {
  const rows = SIZING_LOADS.map((l) => sizeFor(l, o));
  const head = (title: string) => [`| ${title} | ${rows.map((r) => `${n(r.peak)}/s`).join(' | ')} |`, `| --- | ${rows.map(() => '---:').join(' | ')} |`];
  const line = (label: string, f: (r: SizingRow) => string | number) =>
    `| ${label} | ${rows.map((r) => String(typeof f(r) === 'number' ? n(f(r) as number) : f(r))).join(' | ')} |`;
  const keys = SIZED_APPS;
  return [
    ...head('readings per second'),
    line('partitions of raw and clean', (r) => r.partitions),
    ...keys.map((k) => line(`${apps[k].name} replicas planned (KEDA min–max)`, (r) => `${r.replicas[k].planned} (${r.replicas[k].min}–${r.replicas[k].max})`)),
    line('EKS nodes (4 vCPU)', (r) => r.nodes),
    line('MSK brokers', (r) => `${r.msk.brokers} × ${r.msk.instanceType}`),
    line('MSK ingress before replication, MB/s', (r) => r.msk.ingressMBps),
    line(`MSK storage per broker, GiB (${o.retentionHours} h, RF 3)`, (r) => r.msk.storageGiBPerBroker),
    line('MSK partitions per broker (RF 3)', (r) => r.msk.partitionsPerBroker),
    line(`Kafka connections per broker (limit ${n(limits.mskIamConnectionsPerBroker)} with IAM)`, (r) => r.msk.connectionsPerBroker),
    line('Keyspaces writes/s (= WRU/s)', (r) => r.keyspaces.writesPerSec),
    line(`Keyspaces connections (${n(limits.keyspacesRequestsPerConnection)} req/s each)`, (r) => r.keyspaces.connections),
    line(`cassandra-sink connections per host per pod (${o.keyspacesHosts} hosts)`, (r) => r.keyspaces.connectionsPerHostPerSinkPod),
    line('lake files kept per hour', (r) => r.lake.objectsPerHour),
    line('lake PUT/DeleteObjects requests per hour', (r) => r.lake.putsPerHour),
    '',
    ...head('monthly cost, USD'),
    line('MSK brokers + storage', (r) => r.monthly.msk),
    line('EKS nodes', (r) => r.monthly.nodes),
    line('Keyspaces on-demand writes', (r) => r.monthly.keyspacesOnDemand),
    line('Keyspaces provisioned writes (70% utilised)', (r) => r.monthly.keyspacesProvisioned),
    line('lake requests', (r) => r.monthly.lakePuts),
    line('total with provisioned Keyspaces', (r) => r.monthly.msk + r.monthly.nodes + r.monthly.keyspacesProvisioned + r.monthly.lakePuts),
  ].join('\n');
}
