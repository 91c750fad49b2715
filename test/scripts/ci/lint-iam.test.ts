/**
 * The reference substitution scripts/ci/lint-iam.ts applies before parliament reads a policy:
 * every `${...}` must become the value it will have after apply, or the lint must stop.
 * (The parliament run itself is `npm run lint:iam`, a stage of npm test.)
 */
import { SynthesizedStack } from '../../../policies/iam/documents';
import { resolveReferences } from '../../../scripts/ci/lint-iam';

const stack: SynthesizedStack = {
  id: 'dev',
  aws: { accountId: '111122223333', region: 'eu-west-1', partition: 'aws', dnsSuffix: 'amazonaws.com' },
  json: {
    resource: {
      aws_s3_bucket: { lake: { bucket: 'sdp-dev-lake-${data.aws_caller_identity.c.account_id}' } },
      aws_iam_role: { app: { name: 'sdp-dev-app' }, unnamed: { name_prefix: 'x-' } },
      aws_msk_cluster: { kafka: { cluster_name: 'sdp-dev' } },
    },
  },
};

describe('lint-iam reference substitution', () => {
  it('replaces references with the ARNs they will have, AWS context included', () => {
    const text = JSON.stringify({
      Resource: ['${aws_s3_bucket.lake.arn}/*', '${aws_msk_cluster.kafka.arn}', 'arn:${data.aws_partition.p.partition}:logs:${data.aws_region.r.region}:*'],
      Principal: { AWS: '${aws_iam_role.app.arn}' },
    });
    expect(JSON.parse(resolveReferences(stack, text, 'here'))).toEqual({
      Resource: [
        'arn:aws:s3:::sdp-dev-lake-111122223333/*',
        expect.stringMatching(/^arn:aws:kafka:eu-west-1:111122223333:cluster\/sdp-dev\/[0-9a-f-]+$/),
        'arn:aws:logs:eu-west-1:*',
      ],
      Principal: { AWS: 'arn:aws:iam::111122223333:role/sdp-dev-app' },
    });
  });

  it('stops, naming the reference, when it has no known form or no literal name', () => {
    expect(() => resolveReferences(stack, '"${aws_lambda_function.f.arn}"', 'dev: x')).toThrow(/dev: x: no known value for \$\{aws_lambda_function\.f\.arn\}/);
    expect(() => resolveReferences(stack, '"${aws_iam_role.unnamed.arn}"', 'dev: y')).toThrow(/dev: y: .* has no literal name/);
  });
});
