import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import {
  changeKind,
  commentMarker,
  DATA_BEARING_RESOURCES,
  GITHUB_COMMENT_LIMIT,
  main,
  parseJsonLosslessly,
  PlanFormatError,
  renderPlanFailure,
  renderPlanSummary,
  TerraformPlan,
} from '../../scripts/ci/plan-summary';

const FIXTURES = join(__dirname, '..', 'fixtures', 'plans');
/** Read as the CLI reads a plan: numbers beyond 2^53 stay exact. */
const fixture = (name: string): TerraformPlan => parseJsonLosslessly(readFileSync(join(FIXTURES, name), 'utf8')) as TerraformPlan;
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
    // ingress is a set: the added rule is one new member, not a shift of the existing ones.
    expect(md).toContain('- `ingress[1]`: `(none)` → `{"cidr_blocks":["0.0.0.0/0"],"from_port":9092,"protocol":"tcp","security_groups":[],"to_port":9092}`');
  });

  it('shows no warning when only updates and creates are planned', () => {
    const safe = render(fixture('aws-safe-updates.json'));
    expect(safe).not.toContain('[!CAUTION]');
    expect(safe).toContain('- `version`: `"1.32"` → `"1.33"`');
  });

  it('covers the resource types the platform keeps its data in', () => {
    for (const type of [
      'aws_msk_cluster',
      'aws_keyspaces_keyspace',
      'aws_keyspaces_table',
      'aws_s3_bucket',
      'aws_kms_key',
      'aws_eks_cluster',
      'aws_ebs_volume',
      'kubernetes_persistent_volume_claim_v1',
      'aws_glue_catalog_table',
    ]) {
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
          change: {
            actions: ['update'],
            before: { input: 'echo `date`' },
            after: { input: 'echo ```x```' },
            after_unknown: {},
            before_sensitive: {},
            after_sensitive: {},
          },
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

  it('runs as documented: npx tsx scripts/ci/plan-summary.ts --env staging plan.json', () => {
    const root = join(__dirname, '..', '..');
    const out = execFileSync('npx', ['tsx', 'scripts/ci/plan-summary.ts', '--env', 'staging', join(FIXTURES, 'terraform-data-mixed.json')], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out).toBe(render(fixture('terraform-data-mixed.json')));
  }, 60_000);
});

/** One managed resource change in the JSON plan format, for the hand-made cases below. */
const resourceChange = (address: string, type: string, change: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  address,
  mode: 'managed',
  type,
  name: 'x',
  ...extra,
  change: { after_unknown: {}, before_sensitive: {}, after_sensitive: {}, ...change },
});
const planOf = (resource_changes: unknown[], extra: Record<string, unknown> = {}) => ({ format_version: '1.2', resource_changes, ...extra });

describe('real plans: sensitivity follows the plan marks, at any length and of any type', () => {
  const plan = fixture('terraform-data-short-secrets.json');
  const md = render(plan);

  it('masks a 3-character secret and a sensitive number that terraform_data copies unmarked', () => {
    const raw = JSON.stringify(plan);
    expect(raw).toContain('"output":{"code":"abc","generation":1,"pin":4711}');
    expect(md).not.toMatch(/\babc\b/);
    expect(md).not.toContain('4711');
    expect(md).toContain('- `output`: `{"code":"(sensitive value)","generation":1,"pin":"(sensitive value)"}` → `(known after apply)`');
  });

  it('still shows what is not sensitive', () => {
    expect(md).toContain('- `input.generation`: `1` → `2`');
  });
});

describe('real plans: outputs', () => {
  const md = render(fixture('terraform-data-outputs-only.json'));

  it('shows an object- or list-valued output whole, not its first changed leaf', () => {
    expect(md).toContain(
      '- `output.endpoints`: `{"cluster_id":12345678901234567891,"ports":[9092,9094],"primary":"kafka.internal"}` → `{"cluster_id":12345678901234567891,"ports":[9092,9096],"primary":"kafka.internal"}`',
    );
  });

  it('says that only outputs change instead of "No changes"', () => {
    expect(md).not.toContain('No changes');
    expect(md).toContain('**No resource changes.** Only outputs change: 1 output, listed below.');
  });
});

describe('real plans: headlines that say what the plan is', () => {
  it('says an errored plan failed', () => {
    const md = render(fixture('terraform-data-errored.json'));
    expect(md).not.toContain('No changes');
    expect(md).toContain('**The plan failed.**');
  });

  it('lists drift in a refresh-only plan instead of "No changes"', () => {
    const drift = resourceChange('aws_security_group.kafka', 'aws_security_group', {
      actions: ['update'],
      before: { ingress: [{ cidr_blocks: ['10.0.0.0/16'] }] },
      after: { ingress: [{ cidr_blocks: ['10.0.0.0/16', '0.0.0.0/0'] }] },
    });
    const md = render(planOf([], { resource_drift: [drift] }));
    expect(md).not.toContain('No changes');
    expect(md).toContain('**No resource changes.** 1 resource changed outside Terraform (drift), listed below.');
    expect(md).toContain('- `aws_security_group.kafka`: changed outside Terraform');
  });
});

describe('real plans: keys and addresses cannot inject markdown', () => {
  const hostile = 'a\n# Injected heading\n</details>\n| x |';
  const md = render(
    planOf([
      resourceChange(`terraform_data.each["${hostile}"]`, 'terraform_data', {
        actions: ['update'],
        before: { input: { [hostile]: 'old' } },
        after: { input: { [hostile]: 'new' } },
      }),
    ]),
  );

  it('prints keys with their newlines escaped, in HCL index syntax', () => {
    expect(md).toContain('input["a\\n# Injected heading\\n</details>\\n| x |"]');
    expect(md).toContain('terraform_data.each["a\\n# Injected heading\\n</details>\\n| x |"]');
  });

  it('never lets a key start a heading or close the collapsed section', () => {
    const lines = md.split('\n');
    expect(lines.filter((l) => l.startsWith('# Injected'))).toEqual([]);
    expect(lines.filter((l) => /^\s*<\/details>/.test(l) && l !== '</details>')).toEqual([]);
    expect(md.match(/<details>/g)?.length).toBe(1);
    expect(md.match(/^<\/details>$/gm)?.length).toBe(1);
  });
});

describe('real plans: lists and sets', () => {
  const rule = (port: number) => ({ from_port: port, to_port: port, protocol: 'tcp' });

  it('diffs a set by membership: adding one member does not shift the others', () => {
    const md = render(
      planOf([
        resourceChange('aws_security_group.kafka', 'aws_security_group', {
          actions: ['update'],
          before: { ingress: [rule(9092), rule(9096), rule(9098)] },
          after: { ingress: [rule(9092), rule(9094), rule(9096), rule(9098)] },
        }),
      ]),
    );
    const changed = md.split('\n').filter((l) => l.startsWith('- `ingress'));
    expect(changed).toEqual(['- `ingress[1]`: `(none)` → `{"from_port":9094,"protocol":"tcp","to_port":9094}`']);
  });

  it('still shows the changed attribute of a list element in place', () => {
    const md = render(
      planOf([
        resourceChange('aws_security_group.kafka', 'aws_security_group', {
          actions: ['update'],
          before: { ingress: [rule(9092), rule(9096)] },
          after: { ingress: [rule(9092), { ...rule(9096), protocol: 'udp' }] },
        }),
      ]),
    );
    expect(md.split('\n').filter((l) => l.startsWith('- `ingress'))).toEqual(['- `ingress[1].protocol`: `"tcp"` → `"udp"`']);
  });
});

describe('real plans: deposed objects and forget', () => {
  it('labels a deposed object, in the warning and in the details', () => {
    const md = render(
      planOf([
        resourceChange('aws_s3_bucket.lake', 'aws_s3_bucket', { actions: ['delete'], before: { bucket: 'lake' }, after: null }, { deposed: 'a1b2c3d4' }),
      ]),
    );
    expect(warningOf(md)).toContain('- **DESTROY** `aws_s3_bucket.lake` (deposed object `a1b2c3d4`)');
    expect(md).toContain('`aws_s3_bucket.lake` (deposed object `a1b2c3d4`): destroy');
  });

  it('counts ["create","forget"] as one add and one forget, not as a plain add', () => {
    const md = render(
      planOf([resourceChange('aws_kms_key.lake', 'aws_kms_key', { actions: ['create', 'forget'], before: { id: 'k1' }, after: { description: 'lake' } })]),
    );
    expect(md).toContain('**Plan:** 1 to add, 0 to change, 0 to replace, 0 to destroy, 1 to forget.');
    expect(md).toContain('replace (create new, forget old: the old object is kept, no longer managed)');
    expect(md).not.toContain('[!CAUTION]');
  });
});

describe('real plans: truncation and numbers', () => {
  it('keeps the count table with its Total row after the warning lost its reasons', () => {
    const md = render(hugePlan(4000, 100), 2_500);
    expect(md.length).toBeLessThanOrEqual(2_500);
    expect(md).toMatch(/omitted .*the reasons in the warning above/);
    expect(md).toContain('| **Total** | **0** | **3,960** | **0** | **40** |');
  });

  it('keeps the first and the last resources of truncated details, as tfcmt keeps head and tail', () => {
    const md = render(hugePlan(150, 1000));
    const details = md.slice(md.indexOf('<details>'), md.indexOf('</details>'));
    expect(details).toContain('`module.m0.aws_s3_bucket.r0`');
    expect(details).toContain('`module.m2.aws_iam_role_policy.r149`');
    expect(details).toMatch(/…[\d,]+ resource changes omitted here/);
  });

  it('formats every count the same way: headline, table and warning', () => {
    const md = render(hugePlan(2000, 2), 20_000);
    expect(md).toContain('**Plan:** 0 to add, 1,000 to change, 0 to replace, 1,000 to destroy.');
    expect(md).toContain('**1,000 data-bearing resources will be destroyed or replaced.**');
    expect(md).toContain('| **Total** | **0** | **1,000** | **0** | **1,000** |');
  });

  it('reads integers beyond 2^53 exactly, and sees a change only there', () => {
    const file = join(require('os').tmpdir(), `plan-summary-bigint-${process.pid}.json`);
    require('fs').writeFileSync(
      file,
      '{"format_version":"1.2","resource_changes":[{"address":"terraform_data.n","mode":"managed","type":"terraform_data","change":' +
        '{"actions":["update"],"before":{"input":9007199254740993},"after":{"input":9007199254740992},"after_unknown":{},"before_sensitive":{},"after_sensitive":{}}}]}',
    );
    try {
      expect(main(['--env', 'dev', file])).toContain('- `input`: `9007199254740993` → `9007199254740992`');
    } finally {
      require('fs').rmSync(file);
    }
  });
});

describe('CLI --help', () => {
  it('prints the usage', () => {
    expect(main(['--help'])).toMatch(/^usage: plan-summary\.ts --env <environment>/);
    expect(main(['-h'])).toBe(main(['--help']));
  });

  it('exits 0', () => {
    const root = join(__dirname, '..', '..');
    const out = execFileSync('npx', ['tsx', 'scripts/ci/plan-summary.ts', '--help'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('usage: plan-summary.ts');
  }, 60_000);
});
