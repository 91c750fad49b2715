/**
 * Resource types whose destroy or replace loses data, with what is lost. The list is explicit so
 * a reviewer can see why a change is flagged. Glue catalog entries are included: the S3 objects
 * survive, but partitions and schemas go and queries break until they are rebuilt. Athena
 * workgroups and named queries are not: they are configuration, and their results live in S3
 * (covered by aws_s3_bucket).
 */
export const DATA_BEARING_RESOURCES: Readonly<Record<string, string>> = {
  aws_msk_cluster: 'Kafka topics and every retained message',
  aws_msk_serverless_cluster: 'Kafka topics and every retained message',
  aws_keyspaces_keyspace: 'every table in the keyspace',
  aws_keyspaces_table: 'the table and its rows',
  aws_s3_bucket: 'every object in the bucket',
  aws_kms_key: 'the ability to decrypt anything encrypted with the key',
  aws_kms_replica_key: 'the ability to decrypt anything encrypted with the key',
  aws_eks_cluster: 'every workload on the cluster and the volumes they own',
  aws_ebs_volume: 'the volume and its blocks',
  kubernetes_persistent_volume: 'the volume (with a Delete reclaim policy)',
  kubernetes_persistent_volume_v1: 'the volume (with a Delete reclaim policy)',
  kubernetes_persistent_volume_claim: 'the claim and, with a Delete reclaim policy, its volume',
  kubernetes_persistent_volume_claim_v1: 'the claim and, with a Delete reclaim policy, its volume',
  kubernetes_namespace: 'everything in the namespace, including volume claims',
  kubernetes_namespace_v1: 'everything in the namespace, including volume claims',
  aws_glue_catalog_database: 'the lake tables, schemas and partitions registered in it',
  aws_glue_catalog_table: 'the schema and partitions of a lake table',
  aws_cloudwatch_log_group: 'its log events',
  aws_ecr_repository: 'every image in the repository',
  aws_secretsmanager_secret: 'the secret value once the recovery window ends',
  aws_dynamodb_table: 'the table and its items',
  aws_db_instance: 'the database',
  aws_rds_cluster: 'the database cluster',
  aws_efs_file_system: 'the file system and its files',
};

export const isDataBearing = (type: string): boolean => Object.hasOwn(DATA_BEARING_RESOURCES, type);
