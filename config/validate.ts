/**
 * Validation at the edge: schema first, then the rules that span fields. Every message names
 * the environment and the field, and says what to do.
 */
import { z } from 'zod';
import { apps, consumedTopicNames, consumerApps, maxUsefulReplicas } from '../apps/contracts/apps';
import { appRuntimeSettings, PRODUCTION_MIN_REPLICAS } from './apps';
import { cpuCores, keyspacesRequestsPerSec, measured, minimumReplicas, podCapacity, sinkPoolCapacity, SizedApp } from './sizing';
import {
  Cidr,
  cidrContains,
  cidrsOverlap,
  EnvironmentConfig,
  EnvironmentConfigInput,
  environmentConfigSchema,
  KAFKA_INSTANCE_FAMILIES,
  MIN_KAFKA_RETENTION_HOURS,
  NODE_INSTANCE_FAMILIES,
  parseCidr,
  ParsedEnvironmentConfig,
  PLACEHOLDER_IMAGE_TAG,
} from './schema';

export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly environment: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`Invalid configuration for environment '${environment}':\n` + issues.map((i) => `  - [${environment}] ${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(root)';

/** Defaults that depend on other fields: RF = min(3, brokers); min ISR = 2 from RF 3, else 1. */
export function deriveKafkaDurability(kafka: ParsedEnvironmentConfig['kafka']) {
  const replicationFactor = kafka.replicationFactor ?? Math.min(3, kafka.brokerCount);
  const minInsyncReplicas = kafka.minInsyncReplicas ?? (replicationFactor >= 3 ? 2 : 1);
  return { replicationFactor, minInsyncReplicas };
}

function crossFieldIssues(c: ParsedEnvironmentConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const azCount = c.network.availabilityZones.length;

  // Network
  if (new Set(c.network.availabilityZones).size !== azCount) add('network.availabilityZones', 'must not repeat an AZ');
  const badAz = c.network.availabilityZones.find((az) => !az.startsWith(c.region));
  if (badAz) add('network.availabilityZones', `'${badAz}' is not in region '${c.region}'`);
  for (const key of ['publicSubnetCidrs', 'privateSubnetCidrs'] as const) {
    if (c.network[key].length !== azCount) {
      add(`network.${key}`, `has ${c.network[key].length} entries but there are ${azCount} availability zones; give one per AZ`);
    }
  }
  const vpc = parseCidr(c.network.vpcCidr)!;
  const subnets = [
    ...c.network.publicSubnetCidrs.map((v, i) => ({ path: `network.publicSubnetCidrs[${i}]`, v, cidr: parseCidr(v)! })),
    ...c.network.privateSubnetCidrs.map((v, i) => ({ path: `network.privateSubnetCidrs[${i}]`, v, cidr: parseCidr(v)! })),
  ];
  for (const s of subnets) {
    if (!cidrContains(vpc, s.cidr)) add(s.path, `${s.v} is outside the VPC CIDR ${c.network.vpcCidr}`);
    if (s.cidr.prefix > 28) add(s.path, `${s.v} is smaller than /28, the smallest subnet AWS allows`);
  }
  for (let i = 0; i < subnets.length; i++) {
    for (let j = i + 1; j < subnets.length; j++) {
      if (cidrsOverlap(subnets[i].cidr, subnets[j].cidr)) {
        add(subnets[j].path, `${subnets[j].v} overlaps ${subnets[i].path} (${subnets[i].v}); subnet CIDRs must be disjoint`);
      }
    }
  }

  // Kafka
  const k = c.kafka;
  const kafkaFamily = k.instanceType.split('.')[1];
  if (!(KAFKA_INSTANCE_FAMILIES as readonly string[]).includes(kafkaFamily)) {
    add('kafka.instanceType', `unknown instance type family '${kafkaFamily}' in '${k.instanceType}'; use one of ${KAFKA_INSTANCE_FAMILIES.join(', ')}`);
  }
  if (k.brokerCount % azCount !== 0) {
    add('kafka.brokerCount', `${k.brokerCount} is not a multiple of the AZ count (${azCount}); MSK spreads brokers evenly across AZs`);
  }
  if (k.maxVolumeSizeGiB < k.volumeSizeGiB) {
    add('kafka.maxVolumeSizeGiB', `${k.maxVolumeSizeGiB} is below kafka.volumeSizeGiB (${k.volumeSizeGiB}); storage autoscaling needs room to grow`);
  }
  if (k.logRetentionHours < MIN_KAFKA_RETENTION_HOURS) {
    add('kafka.logRetentionHours', `${k.logRetentionHours} is below the floor of ${MIN_KAFKA_RETENTION_HOURS} hours`);
  }
  const { replicationFactor, minInsyncReplicas } = deriveKafkaDurability(k);
  if (replicationFactor > k.brokerCount) {
    add('kafka.replicationFactor', `${replicationFactor} exceeds kafka.brokerCount (${k.brokerCount})`);
  }
  if (minInsyncReplicas > replicationFactor || (replicationFactor > 1 && minInsyncReplicas === replicationFactor)) {
    add('kafka.minInsyncReplicas', `${minInsyncReplicas} must be below the replication factor (${replicationFactor}), or one broker restart blocks all writes`);
  }

  // Kubernetes
  c.kubernetes.nodeGroups.forEach((g, i) => {
    const path = `kubernetes.nodeGroups[${i}]`;
    if (!(g.minSize <= g.desiredSize && g.desiredSize <= g.maxSize)) {
      add(path, `sizes must satisfy minSize <= desiredSize <= maxSize (got ${g.minSize} <= ${g.desiredSize} <= ${g.maxSize})`);
    }
    g.instanceTypes.forEach((t, j) => {
      const family = /^([a-z0-9]+)\.[a-z0-9]+$/.exec(t)?.[1];
      if (!family || !(NODE_INSTANCE_FAMILIES as readonly string[]).includes(family)) {
        add(`${path}.instanceTypes[${j}]`, `unknown instance type family in '${t}'; use one of ${NODE_INSTANCE_FAMILIES.join(', ')}`);
      }
    });
  });
  if (new Set(c.kubernetes.nodeGroups.map((g) => g.name)).size !== c.kubernetes.nodeGroups.length) {
    add('kubernetes.nodeGroups', 'node group names must be unique');
  }
  issues.push(...endpointIssues(c));
  const admins = c.kubernetes.adminRoleArns;
  admins.forEach((arn, i) => {
    if (admins.indexOf(arn) !== i) add(`kubernetes.adminRoleArns[${i}]`, `repeats ${arn}`);
    const account = arn.split(':')[4];
    if (c.accountId && account !== c.accountId) {
      add(
        `kubernetes.adminRoleArns[${i}]`,
        `is in account ${account}, not the environment's account ${c.accountId}; EKS access entries take principals of the cluster's account`,
      );
    }
  });

  // Keyspaces
  if (c.keyspaces.capacityMode === 'PROVISIONED' && (!c.keyspaces.readCapacityUnits || !c.keyspaces.writeCapacityUnits)) {
    add('keyspaces.capacityMode', 'PROVISIONED needs keyspaces.readCapacityUnits and keyspaces.writeCapacityUnits');
  }

  // Lake
  const l = c.lake;
  if (l.glacierAfterDays < l.infrequentAccessAfterDays + 30) {
    add(
      'lake.glacierAfterDays',
      `${l.glacierAfterDays} must be at least 30 days after lake.infrequentAccessAfterDays (${l.infrequentAccessAfterDays}); S3 keeps objects in STANDARD_IA for 30 days`,
    );
  }
  if (l.expireAfterDays !== undefined && l.expireAfterDays <= l.glacierAfterDays + 90) {
    add(
      'lake.expireAfterDays',
      `${l.expireAfterDays} must be more than 90 days after lake.glacierAfterDays (${l.glacierAfterDays}), Glacier's minimum storage duration`,
    );
  }

  // Apps (from the catalog): KEDA never scales a consumer group past the partitions it can use,
  // and the declared peak (sizing.peakEventsPerSecond) is checked against the sizing model
  // (config/sizing.ts): only what cannot work even at the cheapest CPU per reading the bench
  // measured is refused.
  const peak = c.sizing.peakEventsPerSecond;
  const fmt = (v: number) => Math.floor(v).toLocaleString('en-US');
  for (const app of consumerApps) {
    const at = `apps.${app.configKey}`;
    const s = appRuntimeSettings(app, c);
    const useful = maxUsefulReplicas(app);
    if (s.maxReplicas! > useful) {
      add(`${at}.maxReplicas`, `${s.maxReplicas} exceeds the ${useful} partitions of ${consumedTopicNames(app).join(', ')}; extra replicas would sit idle`);
    }
    if (s.minReplicas! > s.maxReplicas!) add(`${at}.minReplicas`, `${s.minReplicas} is above ${at}.maxReplicas (${s.maxReplicas})`);
    if (c.tier === 'production' && s.minReplicas! < PRODUCTION_MIN_REPLICAS) {
      add(`${at}.minReplicas`, `production keeps at least ${PRODUCTION_MIN_REPLICAS} replicas so a node loss does not stop the pipeline`);
    }
    const cores = cpuCores(s.resources.limits.cpu ?? '1');
    const key = app.configKey as SizedApp;
    const needed = minimumReplicas(key, peak, cores);
    if (needed > s.maxReplicas!) {
      add(
        `${at}.maxReplicas`,
        `${s.maxReplicas} replicas cannot carry sizing.peakEventsPerSecond (${fmt(peak)}/s): one replica at its ${s.resources.limits.cpu} CPU limit carries at most ` +
          `${fmt(podCapacity(cores, measured.cpuMicrosPerEvent[key]))}/s (${measured.cpuMicrosPerEvent[key]} µs of CPU per reading, the cheapest measured), so at least ${needed} are needed` +
          (needed > useful
            ? `, more than the ${useful} partitions of ${consumedTopicNames(app).join(', ')} allow: add partitions (apps/contracts/topics.ts)`
            : '') +
          '; see docs/sizing.md',
      );
    }
  }
  const sink = appRuntimeSettings(apps.cassandraSink, c);
  const perHost = Number(sink.env.CASSANDRA_SINK_CONNECTIONS_PER_HOST);
  const hosts = azCount;
  const poolCapacity = sinkPoolCapacity(perHost, hosts) * sink.maxReplicas!;
  const requests = keyspacesRequestsPerSec(peak);
  if (poolCapacity < requests) {
    add(
      'apps.cassandraSink.connectionsPerHost',
      `${perHost} connection(s) per host x ${hosts} Keyspaces hosts (one per AZ's VPC endpoint) x ${sink.maxReplicas} replicas carry ${fmt(poolCapacity)} requests/s ` +
        `at 80% of Keyspaces' 3,000 per connection, below the ${fmt(requests)}/s that sizing.peakEventsPerSecond (${fmt(peak)}/s) needs: raise it or apps.cassandraSink.maxReplicas; see docs/sizing.md`,
    );
  }
  // Provisioned Keyspaces throttles writes above its WCUs; a row of this schema is under 1 KB, one WCU.
  if (c.keyspaces.capacityMode === 'PROVISIONED' && c.keyspaces.writeCapacityUnits && c.keyspaces.writeCapacityUnits < Math.ceil(requests)) {
    add(
      'keyspaces.writeCapacityUnits',
      `${fmt(c.keyspaces.writeCapacityUnits)} WCUs are below the ${fmt(Math.ceil(requests))} row writes/s (under 1 KB each, one WCU) that sizing.peakEventsPerSecond ` +
        `(${fmt(peak)}/s) needs with its aggregates; Keyspaces would throttle the cassandra-sink: raise it or use PAY_PER_REQUEST; see docs/sizing.md`,
    );
  }

  // Production tier: resilience is not optional.
  if (c.tier === 'production') {
    if (azCount < 3) add('network.availabilityZones', 'production needs 3 availability zones');
    if (c.network.natGateways !== 'per-az') add('network.natGateways', "production needs 'per-az' NAT gateways so one AZ failure does not cut egress");
    if (replicationFactor < 3) add('kafka.replicationFactor', `production needs replication factor 3 (got ${replicationFactor})`);
    if (minInsyncReplicas < 2) add('kafka.minInsyncReplicas', `production needs min.insync.replicas >= 2 (got ${minInsyncReplicas})`);
    if (!c.keyspaces.pointInTimeRecovery) add('keyspaces.pointInTimeRecovery', 'production needs point-in-time recovery');
    if (!c.protectData) add('protectData', 'production needs deletion protection on every data store');
    if (c.kubernetes.nodeGroups.some((g) => g.capacityType === 'SPOT')) {
      add('kubernetes.nodeGroups', 'production runs on ON_DEMAND nodes');
    }
    if (c.monitoring.alertEmails.length === 0) add('monitoring.alertEmails', 'production needs at least one alert subscriber');
    if (admins.length === 0) {
      add('kubernetes.adminRoleArns', 'production needs a break-glass admin role, so people can reach the cluster when CI cannot (see README, "Deploy")');
    }
  }
  return issues;
}

/** RFC 1918 ranges: what the private endpoint sees as sources, and what never reaches the public one. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((v) => parseCidr(v)!);
const isPrivateRange = (cidr: Cidr) => PRIVATE_RANGES.some((r) => cidrContains(r, cidr));

/** Endpoint combinations that cannot work, or that production must not use. */
function endpointIssues(c: ParsedEnvironmentConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const endpoint = c.kubernetes.endpoint;
  if (endpoint.access === 'public-and-private') {
    endpoint.publicAccessCidrs.forEach((v, i) => {
      const path = `kubernetes.endpoint.publicAccessCidrs[${i}]`;
      const cidr = parseCidr(v)!;
      if (cidr.prefix === 0 && c.tier === 'production') {
        issues.push({
          path,
          message: `${v} opens the production API server to the internet; list the egress addresses of your runners and VPN, or use access 'private' with terraformRunnerCidrs`,
        });
      }
      if (isPrivateRange(cidr)) {
        issues.push({
          path,
          message: `${v} is a private range, which never reaches a public endpoint; list it under access 'private' as terraformRunnerCidrs instead`,
        });
      }
    });
  } else {
    endpoint.terraformRunnerCidrs.forEach((v, i) => {
      if (!isPrivateRange(parseCidr(v)!)) {
        issues.push({
          path: `kubernetes.endpoint.terraformRunnerCidrs[${i}]`,
          message: `${v} is not a private (RFC 1918) range; a private endpoint is reachable only from the VPC and networks routed to it`,
        });
      }
    });
  }
  return issues;
}

/** Parses and validates one environment; throws ConfigError naming the environment and fields. */
export function validateEnvironment(input: EnvironmentConfigInput): EnvironmentConfig {
  const envName = typeof input?.name === 'string' && input.name ? input.name : '(unnamed)';
  const parsed = environmentConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      envName,
      parsed.error.issues.map((i: z.core.$ZodIssue) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  const issues = crossFieldIssues(parsed.data);
  if (issues.length > 0) throw new ConfigError(envName, issues);
  const { data } = parsed;
  return {
    ...data,
    kafka: { ...data.kafka, ...deriveKafkaDurability(data.kafka) },
    apps: { ...data.apps, imageTag: data.apps.imageTag ?? PLACEHOLDER_IMAGE_TAG },
  };
}

/** Validates a set of environments, including rules across them (unique names, disjoint VPCs for peering). */
export function validateEnvironments(inputs: readonly EnvironmentConfigInput[]): EnvironmentConfig[] {
  const configs = inputs.map(validateEnvironment);
  for (let i = 0; i < configs.length; i++) {
    for (let j = i + 1; j < configs.length; j++) {
      const [a, b] = [configs[i], configs[j]];
      if (a.name === b.name) throw new ConfigError(b.name, [{ path: 'name', message: `duplicates another environment's name` }]);
      if (cidrsOverlap(parseCidr(a.network.vpcCidr)!, parseCidr(b.network.vpcCidr)!)) {
        throw new ConfigError(b.name, [
          {
            path: 'network.vpcCidr',
            message: `${b.network.vpcCidr} overlaps environment '${a.name}' (${a.network.vpcCidr}); keep VPCs disjoint so they can be peered`,
          },
        ]);
      }
    }
  }
  return configs;
}
