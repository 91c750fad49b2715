/**
 * Each app's settings on the cluster: its catalog defaults (apps/contracts/apps.ts) with the
 * environment's `apps.<configKey>` block on top. Config validation checks the result and the
 * stacks deploy it, so an app without a config block deploys with its defaults.
 */
import { AppDeclaration, ComputeQuantities, maxUsefulReplicas } from '../apps/contracts/apps';
import { AppConfig, ParsedEnvironmentConfig } from './schema';

/** Replicas a production consumer keeps at least, so a node loss does not stop the pipeline. */
export const PRODUCTION_MIN_REPLICAS = 2;

export interface AppRuntimeSettings {
  /** Apps without a consumer group: the fixed replica count. */
  readonly replicas?: number;
  /** Consumers: fewest replicas KEDA keeps. */
  readonly minReplicas?: number;
  /** Consumers: most replicas KEDA adds. */
  readonly maxReplicas?: number;
  /** Consumers: lag per replica KEDA aims for. */
  readonly lagThreshold?: number;
  readonly resources: { readonly requests: ComputeQuantities; readonly limits: ComputeQuantities };
  /** The app's settings (`settings` of its catalog entry) as environment variables. */
  readonly env: Readonly<Record<string, string>>;
}

/** The environment's block for an app; absent when the environment keeps the catalog defaults. */
export function appConfigOf(app: AppDeclaration, config: Pick<ParsedEnvironmentConfig, 'apps'>): AppConfig | undefined {
  return (config.apps as unknown as Record<string, AppConfig | undefined>)[app.configKey];
}

export function appRuntimeSettings(app: AppDeclaration, config: Pick<ParsedEnvironmentConfig, 'tier' | 'apps'>): AppRuntimeSettings {
  const own = appConfigOf(app, config) ?? {};
  const defaults = app.deployment;
  const resources = {
    requests: { ...defaults.resources.requests, ...own.resources?.requests },
    limits: { ...defaults.resources.limits, ...own.resources?.limits },
  };
  const env = Object.fromEntries(Object.entries(app.settings ?? {}).map(([key, s]) => [s.env, String((own[key] as number | undefined) ?? s.default)]));
  if (app.consumerGroup === undefined) return { replicas: own.replicas ?? defaults.replicas ?? 1, resources, env };

  const maxReplicas = own.maxReplicas ?? defaults.maxReplicas ?? maxUsefulReplicas(app);
  const floor = config.tier === 'production' ? Math.min(PRODUCTION_MIN_REPLICAS, maxReplicas) : 1;
  const minReplicas = own.minReplicas ?? Math.max(defaults.minReplicas ?? 1, floor);
  return { minReplicas, maxReplicas, lagThreshold: own.lagThreshold ?? config.apps.lagThreshold, resources, env };
}
