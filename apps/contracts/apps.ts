/**
 * The app catalog: one entry per stream app, and the one place that says which topics it reads
 * and writes, in which consumer group, on which port, what its scaling follows and what it may
 * touch on AWS. The apps subscribe from it, the stacks derive each app's StreamApp, IAM grants,
 * KEDA triggers and network paths from it, config validation bounds replicas with it, and
 * `npm start` and the integration tests supervise the apps from it.
 *
 * A new app is its own folder under apps/, one entry here and its tests.
 */
import { lakeLayout } from './lake';
import { aggregatesTable, readingsTable, TableDeclaration } from './tables';
import { TopicKey, topics } from './topics';

/** The tables an app may name in `aws.keyspacesWrite`, by short key. */
export const keyspaceTables = { readings: readingsTable, aggregates: aggregatesTable } as const satisfies Record<string, TableDeclaration>;
export type KeyspaceTableKey = keyof typeof keyspaceTables;

/** What an app may touch on AWS besides Kafka; the stacks turn each into a least-privilege grant. */
export interface AppAwsAccess {
  /** Write rows into these Keyspaces/Cassandra tables (keys of `keyspaceTables`). */
  readonly keyspacesWrite?: readonly KeyspaceTableKey[];
  /**
   * Write objects into the lake under this prefix; a table's location also brings put and
   * delete on the table's parts prefix (`LakeTableLayout.partsPrefix`, docs/lake.md).
   */
  readonly lakeWritePrefix?: string;
  /** Read the registered schemas (Glue Schema Registry) of the contracts on the topics it consumes. */
  readonly schemaRead?: boolean;
}

export interface AppDeclaration {
  /** Kubernetes name, namespace, process name and `dist/apps/<name>/main.js`. */
  readonly name: string;
  readonly description: string;
  /** HTTP port of /metrics, /healthz and /readyz, the same locally and on the cluster. */
  readonly httpPort: number;
  /** The app's key under `apps` in the environment config (config/schema.ts). */
  readonly configKey: string;
  /** Consumer group; absent for an app that only produces. */
  readonly consumerGroup?: string;
  readonly consumes: readonly TopicKey[];
  readonly produces: readonly TopicKey[];
  /** Topics whose consumer-group lag KEDA scales the app on (a subset of `consumes`). */
  readonly scalesOn: readonly TopicKey[];
  readonly aws: AppAwsAccess;
  /**
   * Writes its output in Kafka transactions that also commit its consumed offsets (exactly once,
   * apps/lib/transactions.ts), one transactional id per input partition: `transactionalIdOf`.
   * The stacks grant it exactly the ids under its consumer group's prefix.
   * @default false
   */
  readonly exactlyOnce?: boolean;
  /** How the app runs on the cluster unless the environment config says otherwise. */
  readonly deployment: AppDeploymentDefaults;
  /**
   * Numeric knobs of this app that an environment may set as `apps.<configKey>.<key>`; each
   * reaches the app as an environment variable.
   * @default {}
   */
  readonly settings?: Readonly<Record<string, AppSetting>>;
}

/** Kubernetes CPU and memory quantities, e.g. `{ cpu: '250m', memory: '256Mi' }`. */
export interface ComputeQuantities {
  readonly cpu: string;
  readonly memory: string;
}

/**
 * Cluster defaults of an app, sized from what it does (the benchmarks in docs/benchmarks.md).
 * An environment overrides any of them under `apps.<configKey>` (config/schema.ts).
 */
export interface AppDeploymentDefaults {
  /** Apps without a consumer group: the fixed replica count; 0 keeps the Deployment but runs nothing. */
  readonly replicas?: number;
  /**
   * Consumers: the fewest replicas KEDA keeps. Production environments keep at least 2
   * whatever this says (a node loss must not stop the pipeline).
   */
  readonly minReplicas?: number;
  /** Consumers: the most replicas KEDA adds. @default maxUsefulReplicas(app) */
  readonly maxReplicas?: number;
  readonly resources: { readonly requests: ComputeQuantities; readonly limits: ComputeQuantities };
}

/** A whole-number setting of one app, passed as an environment variable. */
export interface AppSetting {
  /** The variable the app reads (its config module validates it again). */
  readonly env: string;
  readonly description: string;
  readonly default: number;
  /** @default 0 */
  readonly min?: number;
  /** The largest value the app's own config accepts; unset when it has no bound. */
  readonly max?: number;
}

/** The transactional id of an exactly-once app for one partition of an input topic: whoever owns the partition owns the id. */
export const transactionalIdOf = (consumerGroup: string, topic: string, partition: number): string =>
  `${transactionalIdPrefixOf(consumerGroup)}${topic}.${partition}`;
/** Every transactional id of an exactly-once app starts with this (what IAM grants it). */
export const transactionalIdPrefixOf = (consumerGroup: string): string => `${consumerGroup}.`;

export const apps = {
  producer: {
    name: 'producer',
    description: 'Synthetic device readings into the raw topic (a load generator; real devices publish instead)',
    httpPort: 8080,
    configKey: 'producer',
    consumes: [],
    produces: ['raw'],
    scalesOn: [],
    aws: {},
    deployment: {
      replicas: 1,
      resources: { requests: { cpu: '250m', memory: '192Mi' }, limits: { cpu: '1', memory: '384Mi' } },
    },
    settings: {
      ratePerSecond: { env: 'PRODUCER_RATE', description: 'Readings per second per replica', default: 200, min: 1 },
      devices: { env: 'PRODUCER_DEVICES', description: 'Simulated devices per replica', default: 100, min: 1 },
      // On the cluster the load generator runs until it is scaled to 0.
      events: { env: 'PRODUCER_EVENTS', description: 'Readings to send before exiting; 0 runs until stopped', default: 0 },
    },
  },
  processor: {
    name: 'processor',
    description: 'Validates raw readings, routes rejects to the DLQ and emits 1-minute aggregates',
    httpPort: 8081,
    configKey: 'processor',
    consumerGroup: 'telemetry-processor',
    consumes: ['raw'],
    produces: ['clean', 'aggregates', 'deadLetter'],
    scalesOn: ['raw'],
    aws: { schemaRead: true },
    exactlyOnce: true,
    // Validation, routing and windowing: the most CPU per record of the pipeline.
    deployment: {
      minReplicas: 1,
      resources: { requests: { cpu: '500m', memory: '384Mi' }, limits: { cpu: '2', memory: '768Mi' } },
    },
  },
  cassandraSink: {
    name: 'cassandra-sink',
    description: 'Upserts clean readings and aggregates into Keyspaces (Cassandra locally)',
    httpPort: 8082,
    configKey: 'cassandraSink',
    consumerGroup: 'telemetry-cassandra-sink',
    consumes: ['clean', 'aggregates'],
    produces: ['deadLetter'],
    // Both inputs: a backlog of aggregates alone must scale the sink too.
    scalesOn: ['clean', 'aggregates'],
    aws: { keyspacesWrite: ['readings', 'aggregates'], schemaRead: true },
    settings: {
      // Keyspaces serves about 3,000 CQL requests/s per connection: config validation checks the
      // pool (this x the hosts Keyspaces advertises x maxReplicas) against sizing.peakEventsPerSecond.
      connectionsPerHost: {
        env: 'CASSANDRA_SINK_CONNECTIONS_PER_HOST',
        description: 'CQL connections per Keyspaces/Cassandra host',
        default: 2,
        min: 1,
        max: 64,
      },
    },
    // Mostly waiting on Keyspaces round trips: little CPU, memory for in-flight batches.
    deployment: {
      minReplicas: 1,
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    },
  },
  lakeSink: {
    name: 'lake-sink',
    description: 'Writes clean readings as hourly Parquet files into the S3 data lake',
    httpPort: 8083,
    configKey: 'lakeSink',
    consumerGroup: 'telemetry-lake-sink',
    consumes: ['clean'],
    // Records of the clean topic that fail the contract are dead-lettered, as in the other consumers.
    produces: ['deadLetter'],
    scalesOn: ['clean'],
    aws: { lakeWritePrefix: lakeLayout.prefix, schemaRead: true },
    // Holds up to LAKE_SINK_MAX_RECORDS rows per file being built, on several partitions: memory first.
    deployment: {
      minReplicas: 1,
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    },
  },
  alerts: {
    name: 'alerts',
    description: 'Writes 1-minute aggregates that cross a configured threshold to the alerts topic',
    httpPort: 8084,
    configKey: 'alerts',
    consumerGroup: 'telemetry-alerts',
    consumes: ['aggregates'],
    produces: ['alerts', 'deadLetter'],
    scalesOn: ['aggregates'],
    aws: { schemaRead: true },
    // One comparison per aggregate: a small footprint.
    deployment: {
      minReplicas: 1,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    },
  },
} as const satisfies Record<string, AppDeclaration>;

export type AppKey = keyof typeof apps;
export type AppName = (typeof apps)[AppKey]['name'];
export const allApps: readonly AppDeclaration[] = Object.values(apps);

/** Apps that join a consumer group. */
export const consumerApps: readonly AppDeclaration[] = allApps.filter((a) => a.consumerGroup !== undefined);

/** The catalog entry of an app by its name; throws with the known names when there is none. */
export function appNamed(name: string): AppDeclaration {
  const app = allApps.find((a) => a.name === name);
  if (!app) throw new Error(`unknown app '${name}': the catalog (apps/contracts/apps.ts) has ${allApps.map((a) => a.name).join(', ')}`);
  return app;
}

/** Topic names an app consumes, in catalog order. */
export function consumedTopicNames(app: AppDeclaration): string[] {
  return app.consumes.map((k) => topics[k].name);
}

/** Topic names an app produces to. */
export function producedTopicNames(app: AppDeclaration): string[] {
  return app.produces.map((k) => topics[k].name);
}

/** Keyspaces table names an app writes, in catalog order. */
export function keyspaceTableNames(app: AppDeclaration): string[] {
  return (app.aws.keyspacesWrite ?? []).map((k) => keyspaceTables[k].name);
}

/** The most partitions among the topics an app consumes: replicas beyond that sit idle on every one. */
export function maxUsefulReplicas(app: AppDeclaration): number {
  const counts = app.consumes.map((k) => topics[k].partitions);
  return counts.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...counts);
}
