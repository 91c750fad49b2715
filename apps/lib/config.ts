/**
 * Environment configuration for the apps, validated once at startup with zod.
 *
 * Each concern exports a plain `z.object` of its variables; an app composes the ones it
 * needs (`kafkaEnv.extend(s3Env.shape).extend(commonEnv.shape)`) and calls `loadConfig`,
 * which reports EVERY bad variable by name in one error instead of failing on the first.
 *
 * Cross-variable rules (SCRAM needs a username, IAM needs a region) are deliberately NOT
 * zod refinements: zod drops a refinement when its object is spread or `.extend()`ed into
 * another and refuses to extend refined objects that share a key (AWS_REGION). Instead
 * `loadConfig` applies every rule whose trigger variable (KAFKA_AUTH, CASSANDRA_AUTH) is in
 * the composed schema, on the raw environment, so they are reported with the field errors.
 */
import { z } from 'zod';

export class AppConfigError extends Error {
  constructor(readonly issues: readonly { readonly variable: string; readonly message: string }[]) {
    super(
      `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` + issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n'),
    );
    this.name = 'AppConfigError';
  }
}

/** The one format of a configuration error on stderr, for every process of the repository. */
export function reportConfigError(processName: string, err: AppConfigError): string {
  return `${processName}: ${err.message}\n`;
}

/**
 * Parses `env` with `schema`. Empty strings count as unset, so a blank value in a manifest
 * falls back to the documented default instead of failing a number/boolean parse.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') raw[k] = v;
  const result = schema.safeParse(raw);
  const issues = result.success ? [] : result.error.issues.map((i) => describeIssue(i, raw));
  const keys = schema instanceof z.ZodObject ? new Set(Object.keys(schema.shape)) : new Set<string>();
  for (const rule of crossVariableRules) {
    if (!keys.has(rule.trigger)) continue;
    for (const issue of rule.check(raw)) {
      if (!issues.some((i) => i.variable === issue.variable)) issues.push(issue);
    }
  }
  if (issues.length > 0 || !result.success) throw new AppConfigError(issues);
  return result.data;
}

type Issue = { variable: string; message: string };

/** `KAFKA_BROKERS: entry 2: must be host:port` rather than zod's path and type jargon. */
function describeIssue(i: z.core.$ZodIssue, raw: Readonly<Record<string, string>>): Issue {
  const [variable, ...rest] = i.path.map(String);
  if (variable === undefined) return { variable: '(environment)', message: i.message };
  if (raw[variable] === undefined && i.code === 'invalid_type') return { variable, message: 'required but not set' };
  const where = rest.map((p) => (/^\d+$/.test(p) ? `entry ${Number(p) + 1}: ` : `${p}: `)).join('');
  return { variable, message: `${where}${i.message}` };
}
interface CrossVariableRule {
  /** The rule applies when the composed schema declares this variable. */
  readonly trigger: string;
  readonly check: (raw: Readonly<Record<string, string>>) => Issue[];
}

const isFalse = (v: string | undefined) => v !== undefined && FALSE.has(v.trim().toLowerCase());
const requireVar = (raw: Readonly<Record<string, string>>, variable: string, why: string): Issue[] =>
  raw[variable] === undefined ? [{ variable, message: `required when ${why}` }] : [];

const crossVariableRules: readonly CrossVariableRule[] = [
  {
    trigger: 'KAFKA_AUTH',
    check: (raw) => {
      const mode = raw.KAFKA_AUTH;
      if (mode === 'scram') {
        return [
          ...requireVar(raw, 'KAFKA_SASL_USERNAME', 'KAFKA_AUTH=scram'),
          ...requireVar(raw, 'KAFKA_SASL_PASSWORD', 'KAFKA_AUTH=scram'),
          ...(isFalse(raw.KAFKA_TLS) ? [{ variable: 'KAFKA_TLS', message: 'must be true (or unset) when KAFKA_AUTH=scram' }] : []),
        ];
      }
      if (mode === 'iam') {
        return [
          ...requireVar(raw, 'AWS_REGION', 'KAFKA_AUTH=iam (token signing is regional)'),
          ...(isFalse(raw.KAFKA_TLS) ? [{ variable: 'KAFKA_TLS', message: 'must be true (or unset) when KAFKA_AUTH=iam' }] : []),
        ];
      }
      return [];
    },
  },
  {
    trigger: 'CASSANDRA_AUTH',
    check: (raw) =>
      raw.CASSANDRA_AUTH === 'sigv4'
        ? [
            ...requireVar(raw, 'AWS_REGION', 'CASSANDRA_AUTH=sigv4'),
            ...(isFalse(raw.CASSANDRA_TLS) ? [{ variable: 'CASSANDRA_TLS', message: 'must be true (or unset) when CASSANDRA_AUTH=sigv4' }] : []),
          ]
        : [],
  },
];

// ---- reusable variable parsers --------------------------------------------------------

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** `true|false|1|0|yes|no|on|off`, case-insensitive. */
export const envBool = () =>
  z.string().transform((s, ctx) => {
    const v = s.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    ctx.addIssue({ code: 'custom', message: `must be true or false, got "${s}"` });
    return z.NEVER;
  });

export const envInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const envNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

/** Comma-separated list, blanks dropped, each entry validated by `item`. */
export const envList = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    )
    .pipe(z.array(item).min(1, 'must list at least one entry'));

const hostPort = z.string().regex(/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/, 'each entry must be host:port');
const host = z.string().regex(/^[A-Za-z0-9.\-\[\]:]+$/, 'each entry must be a host name or IP');
const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1');

// ---- Kafka ----------------------------------------------------------------------------

export const kafkaEnv = z.object({
  /** Bootstrap brokers, `host:port,host:port`. */
  KAFKA_BROKERS: envList(hostPort),
  /** Client id shown in broker logs and quotas. @default APP_NAME, else `sdp-app` */
  KAFKA_CLIENT_ID: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" or "-"')
    .optional(),
  /**
   * `none` for local plaintext, `iam` for MSK IAM (SASL OAUTHBEARER), `scram` for SCRAM-SHA-512.
   * @default none
   */
  KAFKA_AUTH: z.enum(['none', 'iam', 'scram']).default('none'),
  /**
   * TLS to the brokers. Unset means: false with `none`, true with `iam`/`scram`
   * (MSK only offers SASL over TLS, and credentials must never cross the wire in clear).
   * @default false (true for iam/scram)
   */
  KAFKA_TLS: envBool().optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /**
   * Retries of a failed Kafka request (backoff doubling from 300 ms, capped at 30 s) before the
   * client gives up; a consumer that gives up is restarted by the runner (apps/lib/consumer.ts).
   * @default 8 (about a minute)
   */
  KAFKA_RETRIES: envInt(0, 100).default(8),
  /** Cap of the doubling backoff between those retries. @default 30000 */
  KAFKA_MAX_RETRY_TIME_MS: envInt(100, 300_000).default(30_000),
  /** Producer compression; kafkajs only ships GZIP without extra codecs. @default none */
  KAFKA_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  /** Region for MSK IAM token signing; required with KAFKA_AUTH=iam. */
  AWS_REGION: awsRegion.optional(),
});
export type KafkaEnv = z.output<typeof kafkaEnv>;

// ---- Cassandra / Keyspaces ------------------------------------------------------------

export const cassandraEnv = z.object({
  /** Contact points, `host,host` (port from CASSANDRA_PORT). */
  CASSANDRA_CONTACT_POINTS: envList(host),
  /** @default 9042 (9142 with CASSANDRA_AUTH=sigv4, the Keyspaces TLS port) */
  CASSANDRA_PORT: envInt(1, 65535).optional(),
  /** @default datacenter1 (the region name with sigv4, as Keyspaces reports it) */
  CASSANDRA_LOCAL_DC: z.string().min(1).optional(),
  CASSANDRA_KEYSPACE: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,47}$/, 'must be a Cassandra identifier (letter, then letters/digits/_; max 48)'),
  /** `none` for local Cassandra, `sigv4` for Amazon Keyspaces with IAM. @default none */
  CASSANDRA_AUTH: z.enum(['none', 'sigv4']).default('none'),
  /** @default false (true for sigv4: Keyspaces only accepts TLS) */
  CASSANDRA_TLS: envBool().optional(),
  /** Region for SigV4 signing; required with CASSANDRA_AUTH=sigv4. */
  AWS_REGION: awsRegion.optional(),
});
export type CassandraEnv = z.output<typeof cassandraEnv>;

// ---- S3 -------------------------------------------------------------------------------

export const s3Env = z.object({
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
  /** Custom endpoint for S3-compatible servers (MinIO); unset on AWS. */
  S3_ENDPOINT: z.url({ message: 'must be a URL such as http://127.0.0.1:9000' }).optional(),
  /** Path-style addressing, needed by MinIO. @default false */
  S3_FORCE_PATH_STYLE: envBool().default(false),
  /** @default us-east-1 (any value works against MinIO; on EKS the pod identity webhook sets it) */
  AWS_REGION: awsRegion.default('us-east-1'),
});
export type S3Env = z.output<typeof s3Env>;

// ---- common ---------------------------------------------------------------------------

export const commonEnv = z.object({
  /** @default info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one. @default the app's `httpPort` in apps/contracts/apps.ts */
  HTTP_PORT: envInt(0, 65535).optional(),
  /** Overrides the app name in logs and the `app` metric label (e.g. to tell replicas of a variant apart). */
  APP_NAME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits or "-"')
    .optional(),
});
export type CommonEnv = z.output<typeof commonEnv>;
