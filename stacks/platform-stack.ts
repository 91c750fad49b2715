import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Backend, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { EnvironmentConfig } from '../config';

export interface PlatformStackProps {
  readonly config: EnvironmentConfig;
}

/**
 * One whole environment. The stack id is the environment name, so `cdktf deploy staging`
 * and `cdktf diff staging` address exactly that environment.
 */
export class PlatformStack extends TerraformStack {
  readonly config: EnvironmentConfig;

  constructor(scope: Construct, props: PlatformStackProps) {
    const { config } = props;
    super(scope, config.name);
    this.config = config;

    new S3Backend(this, {
      bucket: config.state.bucket,
      key: `${config.name}/terraform.tfstate`,
      region: config.state.region,
      encrypt: true,
    });
    // cdktf 0.21 has no typed `use_lockfile`; S3-native locking replaces the DynamoDB table.
    this.addOverride('terraform.backend.s3.use_lockfile', true);

    new AwsProvider(this, 'aws', {
      region: config.region,
      allowedAccountIds: config.accountId ? [config.accountId] : undefined,
      defaultTags: [
        {
          tags: {
            Project: 'streaming-data-platform',
            Environment: config.name,
            ManagedBy: 'cdktf',
            ...config.tags,
          },
        },
      ],
    });
  }
}
