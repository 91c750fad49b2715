/**
 * Public API: every construct and its props, for reuse from another cdktf app.
 *   import { KafkaCluster, DataLake, StreamApp } from 'streaming-data-platform/constructs';
 */
export * from './aws-context';
export * from './iam';
export * from './kms-key';
export * from './secure-bucket';
export * from './network';
export * from './kafka-cluster';
export * from './kubernetes-cluster';
export * from './deploy-ordering';
export * from './data-protection';
export * from './kubernetes-providers';
export * from './keyspace';
export * from './data-lake';
export * from './schema-registry';
export * from './monitoring';
export * from './container-registry';
export * from './kubernetes';
export * from './addons';
export * from './cluster-addons';
export * from './stream-app';
export * from './topic-job';
export * from './observability';
