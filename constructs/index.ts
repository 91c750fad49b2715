export * from './aws-context';
export * from './iam';
export * from './kms-key';
