export * from './pipeline-alerts';
export * from './pipeline-dashboard';
export * from './pipeline-observability';
export * from './kafka-brokers';
export * from './slos';
export * from './slo-rules';
export * from './slo-dashboard';
export * from './keyspaces-cloudwatch';
