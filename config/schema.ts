/**
 * The typed environment configuration. One object per environment (see ./environments.ts),
 * validated once at synth time: a bad value fails with `[<env>] <field.path>: <what is wrong>`.
 */
import { z } from 'zod';
import { AppDeclaration, AppKey, allApps, apps } from '../apps/contracts/apps';
import { EKS_ADDON_NAMES } from '../constructs/eks-addon-versions';

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export const cidrSchema = z.string().refine((v) => parseCidr(v) !== undefined, {
  message: 'must be an IPv4 CIDR block such as 10.0.0.0/16',
});

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const logRetentionDays = z
  .number()
  .int()
  .refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), {
    message: `must be one of CloudWatch Logs' retention periods (${LOG_RETENTION_DAYS.join(', ')})`,
  });

/** MSK broker families this project supports (Graviton m7g is preferred; t3 for cheap dev). */
export const KAFKA_INSTANCE_FAMILIES = ['t3', 'm5', 'm7g'] as const;
/** EKS node families the add-ons and apps are tested on. */
export const NODE_INSTANCE_FAMILIES = ['t3', 't3a', 'm5', 'm6i', 'm6a', 'm7i', 'm7g', 'c6i', 'c7i', 'c7g', 'r6i', 'r7g'] as const;
/** EKS versions in standard support that the add-on versions below are pinned for. */
export const EKS_VERSIONS = ['1.32', '1.33', '1.34'] as const;
/** MSK Kafka versions (ZooKeeper-less KRaft metadata mode from 3.7.x). */
export const KAFKA_VERSIONS = ['3.7.x.kraft', '3.8.x', '3.9.x'] as const;
/** Floor for Kafka's default log retention: below a day, a weekend outage of a sink loses data. */
export const MIN_KAFKA_RETENTION_HOURS = 24;

/**
 * Stands in for the app image tag when none was given, so that stacks synthesize for tests and
 * checks. It is never published: the stack's `app_image_tag` output refuses it at plan time, and
 * main.ts refuses it at synth unless run with --placeholder-image-tag (`npm run synth`).
 */
export const PLACEHOLDER_IMAGE_TAG = 'placeholder-set-APP_IMAGE_TAG';

export const imageTagSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be a valid image tag')
  .refine((v) => v !== PLACEHOLDER_IMAGE_TAG, { message: `'${PLACEHOLDER_IMAGE_TAG}' is reserved for synth without an image; give a published tag` });

const awsAccountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account ID');
const iamRoleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, 'must be an IAM role ARN');

/** A Kubernetes CPU or memory quantity such as `250m` or `512Mi`. */
export const kubernetesQuantity = z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$/, 'must be a Kubernetes quantity such as 250m or 512Mi');
const computeQuantities = z.object({ cpu: kubernetesQuantity.optional(), memory: kubernetesQuantity.optional() }).strict();

/** Overrides of one app's catalog defaults (apps/contracts/apps.ts); see config/apps.ts. */
export interface AppConfig {
  /** Apps without a consumer group: fixed replica count; 0 keeps the Deployment but runs nothing. */
  readonly replicas?: number;
  /** Consumers: fewest replicas KEDA keeps. */
  readonly minReplicas?: number;
  /** Consumers: most replicas, at most the partitions of the topics the app consumes. */
  readonly maxReplicas?: number;
  /** Consumers: lag per replica KEDA aims for. @default apps.lagThreshold */
  readonly lagThreshold?: number;
  readonly resources?: {
    readonly requests?: { readonly cpu?: string; readonly memory?: string };
    readonly limits?: { readonly cpu?: string; readonly memory?: string };
  };
  /** The app's own settings (`settings` of its catalog entry), e.g. the producer's `ratePerSecond`. */
  readonly [setting: string]: unknown;
}

function appConfigSchema(app: AppDeclaration): z.ZodType<AppConfig, AppConfig> {
  const settings = Object.fromEntries(
    Object.entries(app.settings ?? {}).map(([key, s]) => [
      key,
      z
        .number()
        .int()
        .min(s.min ?? 0)
        .max(s.max ?? Number.MAX_SAFE_INTEGER)
        .optional(),
    ]),
  );
  const scaling =
    app.consumerGroup === undefined
      ? { replicas: z.number().int().min(0).max(10).optional() }
      : {
          minReplicas: z.number().int().min(1).optional(),
          maxReplicas: z.number().int().min(1).optional(),
          lagThreshold: z.number().int().min(10).optional(),
        };
  return z
    .object({
      ...scaling,
      resources: z.object({ requests: computeQuantities.optional(), limits: computeQuantities.optional() }).strict().optional(),
      ...settings,
    })
    .strict() as unknown as z.ZodType<AppConfig, AppConfig>;
}

type AppConfigKey = (typeof apps)[AppKey]['configKey'];
/** One optional block per catalog entry: a new app deploys with its defaults and no config edit. */
const appConfigSchemas = Object.fromEntries(allApps.map((a) => [a.configKey, appConfigSchema(a).optional()])) as Record<
  AppConfigKey,
  z.ZodOptional<z.ZodType<AppConfig, AppConfig>>
>;

export const nodeGroupSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'must be lower-case letters, digits and "-"'),
    instanceTypes: z.array(z.string()).min(1),
    capacityType: z.enum(['ON_DEMAND', 'SPOT']),
    minSize: z.number().int().min(0),
    desiredSize: z.number().int().min(0),
    maxSize: z.number().int().min(1),
    diskSizeGiB: z.number().int().min(20).max(1000).default(50),
    /**
     * One managed node group per availability zone, each with these sizes. EBS volumes are bound
     * to one AZ, so a pod with a volume (Prometheus) can only be rescheduled after the cluster
     * autoscaler adds a node in that AZ, which it can do only for a group confined to it.
     * @default true
     */
    perAvailabilityZone: z.boolean().default(true),
  })
  .strict();

/**
 * Where Terraform (CI runners, laptops) reaches the EKS API server from. The Kubernetes and Helm
 * resources are applied through it, so a plan or deploy from anywhere else fails.
 */
export const apiEndpointSchema = z.discriminatedUnion('access', [
  z
    .object({
      /** Public endpoint limited to an allow-list, plus the private one that nodes use. */
      access: z.literal('public-and-private'),
      /** Source addresses of everything that runs Terraform: office/VPN egress, runners with static IPs. */
      publicAccessCidrs: z.array(cidrSchema).min(1, 'must list at least one CIDR: an empty allow-list admits no one'),
    })
    .strict(),
  z
    .object({
      /** Private endpoint only: Terraform runs inside the VPC or a network routed to it. */
      access: z.literal('private'),
      /**
       * Networks Terraform runs from (self-hosted runners in the VPC, a peered VPC, a VPN), let
       * into the cluster security group on 443.
       */
      terraformRunnerCidrs: z
        .array(cidrSchema)
        .min(1, 'must list where Terraform runs (self-hosted runners, VPN): nothing outside the VPC reaches a private endpoint'),
    })
    .strict(),
]);

export const environmentConfigSchema = z
  .object({
    /** Stack id and name prefix; `cdktf deploy <name>` deploys it. */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,15}$/, 'must be 2-16 lower-case letters, digits or "-"'),
    /** `production` turns on the resilience rules checked below. */
    tier: z.enum(['non-production', 'production']),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1'),
    /** When set, the AWS provider refuses to run against any other account. */
    accountId: awsAccountId.optional(),
    tags: z.record(z.string(), z.string()).default({}),

    state: z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
        region: z.string(),
      })
      .strict(),

    network: z
      .object({
        vpcCidr: cidrSchema,
        availabilityZones: z
          .array(z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, 'must be an AZ name such as eu-west-1a'))
          .min(2)
          .max(3),
        publicSubnetCidrs: z.array(cidrSchema),
        privateSubnetCidrs: z.array(cidrSchema),
        natGateways: z.enum(['single', 'per-az']),
        flowLogsRetentionDays: logRetentionDays,
      })
      .strict(),

    kafka: z
      .object({
        kafkaVersion: z.enum(KAFKA_VERSIONS),
        brokerCount: z.number().int().min(2),
        instanceType: z.string().regex(/^kafka\.[a-z0-9]+\.[a-z0-9]+$/, 'must look like kafka.<family>.<size>'),
        volumeSizeGiB: z.number().int().min(1).max(16384),
        maxVolumeSizeGiB: z.number().int().min(1).max(16384),
        /**
         * Broker disk utilisation at which storage autoscaling grows the volumes (MSK allows 10-80).
         * @default 60
         */
        storageAutoscalingTargetPercent: z.number().int().min(10).max(80, 'must be at most 80, the highest target MSK storage autoscaling accepts').optional(),
        /** @default min(3, brokerCount) */
        replicationFactor: z.number().int().min(1).optional(),
        /** @default 2 when the replication factor is at least 3, else 1 */
        minInsyncReplicas: z.number().int().min(1).optional(),
        logRetentionHours: z.number().int(),
        scramAuthentication: z.boolean().default(false),
        enhancedMonitoring: z.enum(['DEFAULT', 'PER_BROKER', 'PER_TOPIC_PER_BROKER', 'PER_TOPIC_PER_PARTITION']),
        brokerLogRetentionDays: logRetentionDays,
      })
      .strict(),

    kubernetes: z
      .object({
        version: z.enum(EKS_VERSIONS),
        /** Where Terraform reaches the API server from; see apiEndpointSchema. */
        endpoint: apiEndpointSchema,
        /**
         * Cluster admins besides the CI deploy role (which is added from the bootstrap): the role
         * people deploy with from a laptop and the break-glass role. Give the full role ARN,
         * including a path such as `aws-reserved/sso.amazonaws.com/`.
         * @default []
         */
        adminRoleArns: z.array(iamRoleArn).default([]),
        /** Read-only including Secrets, e.g. the CI plan role (Helm refresh reads release Secrets). */
        viewerRoleArns: z.array(iamRoleArn).default([]),
        nodeGroups: z.array(nodeGroupSchema).min(1),
        /** Overrides of the add-on versions pinned per EKS version (constructs/eks-addon-versions.ts). */
        addonVersions: z
          .partialRecord(
            z.enum(EKS_ADDON_NAMES),
            z.string().regex(/^v\d+\.\d+\.\d+-eksbuild\.\d+$/, 'must be an EKS add-on version such as v1.20.4-eksbuild.1'),
          )
          .optional(),
        controlPlaneLogRetentionDays: logRetentionDays,
      })
      .strict(),

    keyspaces: z
      .object({
        keyspaceName: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,47}$/, 'must be 1-48 letters, digits or "_"'),
        pointInTimeRecovery: z.boolean(),
        capacityMode: z.enum(['PAY_PER_REQUEST', 'PROVISIONED']),
        readCapacityUnits: z.number().int().min(1).optional(),
        writeCapacityUnits: z.number().int().min(1).optional(),
        /** 0 disables TTL expiry of readings. */
        readingsTtlDays: z.number().int().min(0).max(3650),
        aggregatesTtlDays: z.number().int().min(0).max(3650),
      })
      .strict(),

    lake: z
      .object({
        infrequentAccessAfterDays: z.number().int().min(30, 'S3 needs at least 30 days before STANDARD_IA'),
        glacierAfterDays: z.number().int().min(1),
        /** Unset keeps raw data forever. */
        expireAfterDays: z.number().int().min(1).optional(),
        accessLogsExpireAfterDays: z.number().int().min(1),
        athenaResultsExpireAfterDays: z.number().int().min(1),
      })
      .strict(),

    monitoring: z
      .object({
        alertEmails: z.array(z.email()).default([]),
        mskDiskUsedPercentThreshold: z.number().min(10).max(95),
        mskCpuPercentThreshold: z.number().min(10).max(100),
        nodeCpuPercentThreshold: z.number().min(10).max(100),
      })
      .strict(),

    /** The bundled apps on EKS (apps/). */
    apps: z
      .object({
        /**
         * Tag of the app image in the bootstrap's ECR repository. Unset on purpose: the repository
         * is immutable and holds only tags that CI or scripts/deploy/push-image.sh published, so
         * the tag comes from APP_IMAGE_TAG at synth time (main.ts). Pin one here only to deploy
         * a known published tag.
         */
        imageTag: imageTagSchema.optional(),
        ...appConfigSchemas,
        /** Consumer-group lag per replica that KEDA aims for. */
        lagThreshold: z.number().int().min(10),
      })
      .strict(),

    /**
     * The load the environment is built for. Validation refuses settings that the sizing model
     * (config/sizing.ts, docs/sizing.md) shows cannot carry it, e.g. too few replicas even at the
     * cheapest measured CPU per reading, or a cassandra-sink pool above Keyspaces' quota per connection.
     */
    sizing: z.object({ peakEventsPerSecond: z.number().int().min(1) }).strict(),

    /** prevent_destroy / deletion protection on every data store, and no force-destroy of buckets. */
    protectData: z.boolean(),
    /** Waiting period of every KMS key of the environment before a scheduled deletion takes effect. */
    kmsDeletionWindowDays: z.number().int().min(7).max(30),
  })
  .strict();

export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;
export type ParsedEnvironmentConfig = z.output<typeof environmentConfigSchema>;

export interface KafkaDurability {
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
}

/** The validated config with derived values resolved; `apps.imageTag` is PLACEHOLDER_IMAGE_TAG when none was given. */
export type EnvironmentConfig = Omit<ParsedEnvironmentConfig, 'kafka' | 'apps'> & {
  readonly kafka: ParsedEnvironmentConfig['kafka'] & KafkaDurability;
  readonly apps: ParsedEnvironmentConfig['apps'] & { readonly imageTag: string };
};

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
  readonly first: number;
  readonly last: number;
}

export function parseCidr(value: string): Cidr | undefined {
  const m = CIDR.exec(value);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (network !== addr) return undefined; // host bits set: 10.0.1.0/16 is almost always a typo
  return { network, prefix, first: network, last: network + size - 1 };
}

export const cidrsOverlap = (a: Cidr, b: Cidr): boolean => a.first <= b.last && b.first <= a.last;
export const cidrContains = (outer: Cidr, inner: Cidr): boolean => outer.first <= inner.first && inner.last <= outer.last;
