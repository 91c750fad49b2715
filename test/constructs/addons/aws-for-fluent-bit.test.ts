import { awsForFluentBit, installAddon } from '../../../constructs/addons';
import { FakeCluster, synth, testStack } from './support';

describe('aws-for-fluent-bit add-on', () => {
  it('ships to a CMK-encrypted log group it may write to and nothing else', () => {
    const stack = testStack();
    const addon = awsForFluentBit(stack, { clusterName: 'sdp-x', retentionInDays: 14 });
    installAddon(stack, new FakeCluster(stack, 'cluster'), addon);
    const r = synth(stack).resource;
    const [group] = Object.values(r.aws_cloudwatch_log_group);
    expect(group).toMatchObject({
      name: '/aws/eks/sdp-x/containers',
      retention_in_days: 14,
      kms_key_id: expect.stringMatching(/^\$\{aws_kms_key\..+\.arn\}$/),
    });
    const groupArn = `\${aws_cloudwatch_log_group.${addon.logGroup.friendlyUniqueId}.arn}`;
    const [statement] = JSON.parse(Object.values(r.aws_iam_role_policy)[0].policy).Statement;
    expect(statement.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(statement.Resource).toEqual([groupArn, `${groupArn}:log-stream:*`]);
  });

  it('uses a given key instead of creating one', () => {
    const stack = testStack();
    awsForFluentBit(stack, { clusterName: 'sdp-x', retentionInDays: 14, kmsKeyArn: 'arn:aws:kms:eu-west-1:1:key/k' });
    const r = synth(stack).resource;
    expect(r.aws_kms_key).toBeUndefined();
    expect(Object.values(r.aws_cloudwatch_log_group)[0].kms_key_id).toBe('arn:aws:kms:eu-west-1:1:key/k');
  });
});
