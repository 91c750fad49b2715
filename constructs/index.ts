/**
 * Public API: every construct and its props, for reuse from another cdktf app.
 *   import { KafkaCluster, DataLake } from 'streaming-data-platform/constructs';
 */
export * from './aws-context';
export * from './iam';
export * from './kms-key';
export * from './network';
export * from './kafka-cluster';
export * from './kubernetes-cluster';
export * from './deploy-ordering';
export * from './data-protection';
export * from './keyspace';
export * from './data-lake';
export * from './monitoring';
export * from './container-registry';
