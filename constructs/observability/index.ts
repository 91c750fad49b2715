export * from './pipeline-alerts';
export * from './pipeline-dashboard';
export * from './pipeline-observability';
export * from './kafka-brokers';
