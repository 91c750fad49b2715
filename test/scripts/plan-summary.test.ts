import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import {
  changeKind,
  commentMarker,
  DATA_BEARING_RESOURCES,
  GITHUB_COMMENT_LIMIT,
  main,
  PlanFormatError,
  renderPlanFailure,
  renderPlanSummary,
  TerraformPlan,
} from '../../scripts/plan-summary';

const FIXTURES = join(__dirname, '..', 'fixtures', 'plans');
const fixture = (name: string): TerraformPlan => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const render = (plan: unknown, maxChars?: number) => renderPlanSummary(plan, { environment: 'staging', maxChars });

/** The part of the comment before the first section that may be truncated. */
const warningOf = (md: string) => {
  const start = md.indexOf('> [!CAUTION]');
  if (start < 0) return '';
  const rest = md.slice(start);
  const end = rest.search(/\n\n(?!>)/);
  return end < 0 ? rest : rest.slice(0, end);
};

describe('changeKind', () => {
  it.each([
    [['create'], 'create'],
    [['update'], 'update'],
    [['delete'], 'delete'],
    [['delete', 'create'], 'replace'],
    [['create', 'delete'], 'replace'],
    [['forget'], 'forget'],
    [['read'], 'read'],
    [['no-op'], 'no-op'],
  ])('%j is %s', (actions, kind) => expect(changeKind(actions)).toBe(kind));
});

describe('real terraform output (terraform_data, Terraform 1.11)', () => {
  const plan = fixture('terraform-data-mixed.json');
  const md = render(plan);

  it('starts with the sticky-comment marker of the environment', () => {
    expect(md.split('\n')[0]).toBe('<!-- plan-summary:staging -->');
    expect(md.split('\n')[0]).toBe(commentMarker('staging'));
  });

  it('counts every kind of change, replace separately from add and destroy', () => {
    expect(md).toContain('**Plan:** 1 to add, 3 to change, 2 to replace, 1 to destroy, 1 to move, 1 to forget.');
    expect(md).toMatch(/\| Resource type \| Add \| Change \| Replace \| Destroy \| Move \| Forget \|/);
    expect(md).toContain('| `terraform_data` | 1 | 3 | 2 | 1 | 1 | 1 |');
  });

  it('never prints a sensitive value, nor a computed copy of one that terraform left unmarked', () => {
    // The raw plan does contain them: the renderer is what keeps them out of the comment.
    const raw = JSON.stringify(plan);
    for (const secret of ['hunter2', 'correct-horse', 'tok-old-0000', 'tok-new-9999']) {
      expect(raw).toContain(secret);
      expect(md).not.toContain(secret);
    }
    expect(md).toContain('- `input.password`: `(sensitive value)` → `(sensitive value)`');
    // terraform_data.output copies the sensitive input without a sensitive mark.
    expect(md).toContain('- `output`: `(sensitive value)` → `(known after apply)`');
  });

  it('shows updated attributes before -> after, and unknown values as known after apply', () => {
    expect(md).toContain('- `input.image`: `"sdp/apps:1111111"` → `"sdp/apps:2222222"`');
    expect(md).toContain('- `input.labels.tier`: `(none)` → `"gold"`');
    expect(md).toContain('- `input.replicas`: `2` → `3`');
  });

  it('marks the attribute that forces a replacement and tells the two replace orders apart', () => {
    expect(md).toContain('- `triggers_replace`: `"1"` → `"2"` **(forces replacement)**');
    expect(md).toContain('**`terraform_data.cbd`**: replace (create new, then destroy old)');
    expect(md).toContain('**`terraform_data.schema`**: replace (destroy, then create)');
  });

  it('puts full details of every change, moves and forgets included, in a collapsed block', () => {
    const details = md.slice(md.indexOf('<details>'), md.indexOf('</details>'));
    expect(details).toContain('Full details (9 resource changes)');
    expect(details).toContain('`terraform_data.new_name`: no change, moved from `terraform_data.old_name`');
    expect(details).toContain('`terraform_data.kept_out_of_band`: forget (remove from state, keep the real object)');
    expect(details).toContain('+ input.topics[1] = "telemetry.aggregates"');
    expect(details).toContain('- input = "to be removed"');
  });

  it('raises no data-loss warning for resources that hold no data', () => {
    expect(md).not.toContain('[!CAUTION]');
  });

  it('reports a plan without changes as such', () => {
    const clean = render(fixture('terraform-data-no-changes.json'));
    expect(clean).toContain('**No changes.**');
    expect(clean).not.toContain('| Resource type |');
    expect(clean).not.toContain('<details>');
  });
});

describe('AWS-typed plans (hand-made in the JSON plan format)', () => {
  const plan = fixture('aws-data-loss.json');
  const md = render(plan);

  it('lists every destroy or replace of a data-bearing resource in a CAUTION alert, with the cause', () => {
    const warning = warningOf(md);
    expect(warning).toContain('**5 data-bearing resources will be destroyed or replaced.**');
    expect(warning).toContain(
      '- **REPLACE** `module.kafka.aws_msk_cluster.this`: loses Kafka topics and every retained message; forced by `encryption_info[0].encryption_at_rest_kms_key_arn`',
    );
    expect(warning).toContain('- **DESTROY** `module.keyspace.aws_keyspaces_table.this["aggregates_by_device"]`');
    expect(warning).toContain('- **DESTROY** `module.lake.aws_s3_bucket.athena_results`');
    expect(warning).toContain('- **REPLACE** `module.lake.aws_glue_catalog_table.readings`');
    expect(warning).toContain('- **DESTROY** `kubernetes_persistent_volume_claim_v1.prometheus`');
    // Updates of data-bearing resources are not data loss.
    expect(warning).not.toContain('aws_kms_key');
    expect(warning).not.toContain('aws_eks_cluster');
  });

  it('flags the data-bearing rows of the count table', () => {
    expect(md).toContain('| `aws_msk_cluster` ⚠️ |  |  | 1 |  |');
    expect(md).toContain('| `aws_eks_cluster` |  | 1 |  |  |');
  });

  it('masks sensitive attributes, sensitive outputs and sensitive variables wherever they appear', () => {
    for (const secret of ['o-s3cr3tvalue9', 'Pa55word', 'whk-5up3r-s3cret-t0ken', 'whk-old-s3cret-t0ken']) {
      expect(JSON.stringify(plan)).toContain(secret);
      expect(md).not.toContain(secret);
    }
    expect(md).toContain('- `policy`: `(sensitive value)` → `(sensitive value)`');
    expect(md).toContain('- `output.alert_webhook`: `(sensitive value)` → `(sensitive value)`');
  });

  it('diffs JSON documents held in string attributes (IAM policies) structurally', () => {
    expect(md).toContain('- `policy → Statement[0].Action[1]`: `(none)` → `"cassandra:Select"`');
  });

  it('reports changes made outside Terraform', () => {
    expect(md).toContain('#### 1 resource changed outside Terraform (drift)');
    expect(md).toContain('`ingress[1].cidr_blocks[0]`: `(none)` → `"0.0.0.0/0"`');
  });

  it('shows no warning when only updates and creates are planned', () => {
    const safe = render(fixture('aws-safe-updates.json'));
    expect(safe).not.toContain('[!CAUTION]');
    expect(safe).toContain('- `version`: `"1.32"` → `"1.33"`');
  });

  it('covers the resource types the platform keeps its data in', () => {
    for (const type of ['aws_msk_cluster', 'aws_keyspaces_keyspace', 'aws_keyspaces_table', 'aws_s3_bucket', 'aws_kms_key', 'aws_eks_cluster', 'aws_ebs_volume', 'kubernetes_persistent_volume_claim_v1', 'aws_glue_catalog_table']) {
      expect(DATA_BEARING_RESOURCES).toHaveProperty(type);
    }
    expect(DATA_BEARING_RESOURCES).not.toHaveProperty('aws_athena_workgroup');
  });
});

/** A plan as large as a real platform's first apply can get, with some data loss buried in it. */
function hugePlan(resources: number, dangerousEvery: number): TerraformPlan {
  const resource_changes = Array.from({ length: resources }, (_, i) => {
    const dangerous = i % dangerousEvery === 0;
    const type = dangerous ? 'aws_s3_bucket' : i % 2 ? 'aws_iam_role_policy' : 'aws_security_group_rule';
    return {
      address: `module.m${i % 7}.${type}.r${i}`,
      mode: 'managed',
      type,
      name: `r${i}`,
      change: dangerous
        ? { actions: ['delete'], before: { bucket: `bucket-${i}`, tags: { Owner: 'x'.repeat(40) } }, after: null, before_sensitive: {}, after_sensitive: false }
        : {
            actions: ['update'],
            before: { description: `old description ${i} ${'y'.repeat(60)}`, port: i },
            after: { description: `new description ${i} ${'z'.repeat(60)}`, port: i + 1 },
            after_unknown: {},
            before_sensitive: {},
            after_sensitive: {},
          },
    };
  });
  return { format_version: '1.2', terraform_version: '1.11.4', resource_changes };
}

describe('size cap', () => {
  const plan = hugePlan(4000, 100);
  const dangerous = (plan.resource_changes ?? []).filter((rc) => rc.type === 'aws_s3_bucket').map((rc) => rc.address);

  it(`stays within GitHub's ${GITHUB_COMMENT_LIMIT} characters and keeps every data-loss entry`, () => {
    const md = render(plan);
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md.startsWith(commentMarker('staging'))).toBe(true);
    const warning = warningOf(md);
    expect(dangerous).toHaveLength(40);
    for (const address of dangerous) expect(warning).toContain(`\`${address}\``);
    expect(md).toContain('**Truncated** to fit GitHub');
    expect(md).toMatch(/omitted full details of [\d,]+ resources/);
    // Still well-formed: the collapsed block is closed.
    expect(md.match(/<details>/g)?.length).toBe(md.match(/<\/details>/g)?.length);
  });

  it('drops details first, then attribute changes, and says what it dropped', () => {
    const md = render(plan, 12_000);
    expect(md.length).toBeLessThanOrEqual(12_000);
    expect(md).not.toContain('<details>');
    expect(md).toMatch(/omitted full details of 4,000 resources; changed attributes of [\d,]+ resources/);
    for (const address of dangerous) expect(warningOf(md)).toContain(address);
  });

  it('shortens the warning only when it alone does not fit, and never removes it', () => {
    const md = render(plan, 2_000);
    expect(md.length).toBeLessThanOrEqual(2_000);
    expect(md).toContain('> [!CAUTION]');
    expect(md).toContain('**40 data-bearing resources will be destroyed or replaced.**');
    expect(md).toMatch(/…and \d+ more, listed in the job log/);
  });

  it('refuses a cap too small for the headline and the warning', () => {
    expect(() => render(plan, 300)).toThrow(/maxChars: 300 is too small/);
  });
});

describe('input and markdown safety', () => {
  it('rejects what is not a JSON plan, naming the field', () => {
    expect(() => render({ format_version: '0.1', resource_changes: [] })).toThrow(PlanFormatError);
    expect(() => render({ format_version: '0.1' })).toThrow(/format_version: must be a 1.x JSON plan/);
    expect(() => render({ format_version: '1.2', resource_changes: [{ address: 'x' }] })).toThrow(/resource_changes\.0\.type/);
  });

  it('keeps values containing backticks inside their code spans and fences', () => {
    const md = render({
      format_version: '1.2',
      resource_changes: [
        {
          address: 'terraform_data.script',
          mode: 'managed',
          type: 'terraform_data',
          change: { actions: ['update'], before: { input: 'echo `date`' }, after: { input: 'echo ```x```' }, after_unknown: {}, before_sensitive: {}, after_sensitive: {} },
        },
      ],
    });
    expect(md).toContain('`` "echo `date`" ``');
    expect(md).toContain('```` "echo ```x```" ````');
    expect(md).toContain('````diff\n~ input: "echo `date`" -> "echo ```x```"\n````');
  });

  it('only accepts environment names that keep the marker well-formed', () => {
    expect(() => commentMarker('prod -->')).toThrow(/environment/);
    expect(commentMarker('prod')).toBe('<!-- plan-summary:prod -->');
  });
});

describe('docs/ci.md', () => {
  it('shows what the script renders today for aws-data-loss.json', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'ci.md'), 'utf8');
    const begin = '<!-- example:begin -->\n';
    const example = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf('<!-- example:end -->'));
    const runUrl = 'https://github.com/example-org/streaming-data-platform/actions/runs/123456789';
    expect(example).toBe(renderPlanSummary(fixture('aws-data-loss.json'), { environment: 'staging', runUrl }));
  });
});

describe('CLI', () => {
  it('renders a plan file, and a failure comment with --failed', () => {
    const md = main(['--env', 'prod', '--run-url', 'https://github.com/o/r/actions/runs/1', join(FIXTURES, 'aws-data-loss.json')]);
    expect(md.split('\n')[0]).toBe('<!-- plan-summary:prod -->');
    expect(md).toContain('[!CAUTION]');
    const failed = renderPlanFailure('prod', 'terraform init failed', 'https://github.com/o/r/actions/runs/1');
    expect(main(['--env', 'prod', '--run-url', 'https://github.com/o/r/actions/runs/1', '--failed', 'terraform init failed'])).toBe(failed);
    expect(failed).toContain('**The plan failed:** terraform init failed');
    expect(failed.split('\n')[0]).toBe('<!-- plan-summary:prod -->');
  });

  it('explains bad usage', () => {
    expect(() => main([join(FIXTURES, 'aws-data-loss.json')])).toThrow(/--env is required/);
    expect(() => main(['--env', 'dev'])).toThrow(/give the plan file/);
    expect(() => main(['--env', 'dev', '--max-chars', 'lots', 'x.json'])).toThrow(/--max-chars must be a positive integer/);
    expect(() => main(['--env', 'dev', join(FIXTURES, 'README.md')])).toThrow(/cannot read JSON/);
  });

  it('runs as documented: npx ts-node --transpile-only scripts/plan-summary.ts --env staging plan.json', () => {
    const root = join(__dirname, '..', '..');
    const out = execFileSync('npx', ['ts-node', '--transpile-only', 'scripts/plan-summary.ts', '--env', 'staging', join(FIXTURES, 'terraform-data-mixed.json')], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out).toBe(render(fixture('terraform-data-mixed.json')));
  }, 60_000);
});
