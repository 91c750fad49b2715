/**
 * Runs Terraform itself on every synthesized stack against the schema-driven mock providers
 * (tools/mock-provider): `init`, `validate`, `plan`, `apply` to a local state, then a second
 * `plan -detailed-exitcode` that must report no changes. Then renders the pull-request comment
 * (scripts/ci/plan-summary.ts) from staging's real plans: the fresh one, and one after a Keyspaces
 * table is renamed, which must carry the data-loss warning. What this proves and what it cannot:
 * docs/terraform-tests.md.
 *
 * Synthesizes its own copy of the stacks as a deploy does, with APP_IMAGE_TAG set (`npm run synth`
 * writes a placeholder tag that the stacks' own precondition refuses at plan), unless given
 * --stacks-dir. The backend is overridden to a local state and a private TF_CLI_CONFIG_FILE
 * whose only provider source is a filesystem mirror: no network, no registry.
 * Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
 *
 * Usage: tsx scripts/terraform/test-stacks.ts [--stacks dev,staging] [--stacks-dir cdktf.out/stacks]
 *        [--out <dir for the comments>]
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bindingVersion, extractSchema } from './extract-schema';

const ROOT = resolve(__dirname, '..', '..');

interface Check {
  name: string;
  ok: boolean;
  seconds: number;
  detail?: string;
}

interface Options {
  stacks?: string[];
  /** Synthesized stacks to test; by default a fresh synth with a test image tag. */
  stacksDir?: string;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { out: join(ROOT, '.test-results', 'terraform') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--stacks') options.stacks = argv[++i].split(',');
    else if (argv[i] === '--out') options.out = resolve(argv[++i]);
    else if (argv[i] === '--stacks-dir') options.stacksDir = resolve(argv[++i]);
    else throw new Error(`test-stacks: unknown argument ${argv[i]}; usage: test-stacks.ts [--stacks a,b] [--stacks-dir dir] [--out dir]`);
  }
  return options;
}

/** terraform from PATH, else what scripts/lib.sh's ensure_terraform builds; fails saying what to install. */
function toolPath(ensure: string): string {
  return execFileSync('bash', ['-c', `source scripts/lib.sh && ${ensure}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

class Workspace {
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly root: string,
    readonly terraform: string,
    mockProvider: string,
    private readonly stacksDir: string,
  ) {
    const schemaPath = join(root, 'providers-schema.json');
    const schema = extractSchema(stacksDir);
    writeFileSync(schemaPath, JSON.stringify(schema));
    const mirror = join(root, 'mirror');
    for (const address of Object.keys(schema.provider_schemas)) {
      const name = address.split('/').pop()!;
      const version = bindingVersion(name);
      const dir = join(mirror, address, version, 'linux_amd64');
      mkdirSync(dir, { recursive: true });
      copyFileSync(mockProvider, join(dir, `terraform-provider-${name}_v${version}`));
    }
    const cliConfig = join(root, 'terraformrc');
    writeFileSync(
      cliConfig,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
    );
    this.env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfig,
      SDP_MOCK_PROVIDER_SCHEMA: schemaPath,
      TF_IN_AUTOMATION: '1',
      CHECKPOINT_DISABLE: '1',
      TF_PLUGIN_CACHE_DIR: '',
      TF_DATA_DIR: '',
    };
  }

  /** A copy of a stack whose backend is a local state in the copy. */
  stack(name: string, copyName = name): string {
    const dir = join(this.root, copyName);
    cpSync(join(this.stacksDir, name), dir, { recursive: true });
    writeFileSync(join(dir, 'backend_override.tf.json'), JSON.stringify({ terraform: { backend: { local: { path: 'terraform.tfstate' } } } }));
    return dir;
  }

  run(dir: string, args: string[]): Promise<{ code: number; output: string }> {
    return new Promise((done) => {
      execFile(this.terraform, args, { cwd: dir, env: this.env, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, output: `${stdout}${stderr}` });
      });
    });
  }
}

const STEPS: Array<{ name: string; args: string[]; exitCode?: number }> = [
  { name: 'init', args: ['init', '-input=false', '-no-color'] },
  { name: 'validate', args: ['validate', '-no-color'] },
  { name: 'plan', args: ['plan', '-input=false', '-no-color', '-lock=false', '-out=first.tfplan'] },
  { name: 'apply', args: ['apply', '-input=false', '-no-color', '-lock=false', 'first.tfplan'] },
  { name: 'second plan is empty', args: ['plan', '-input=false', '-no-color', '-lock=false', '-detailed-exitcode', '-out=second.tfplan'], exitCode: 0 },
];

async function checkStack(ws: Workspace, stack: string): Promise<Check> {
  const t0 = Date.now();
  const dir = ws.stack(stack);
  for (const step of STEPS) {
    const { code, output } = await ws.run(dir, step.args);
    if (code !== (step.exitCode ?? 0)) {
      const why = step.exitCode === 0 && code === 2 ? 'the configuration does not converge: a plan right after apply still has changes' : `exit code ${code}`;
      return { name: `terraform ${stack}`, ok: false, seconds: (Date.now() - t0) / 1000, detail: `${step.name} failed (${why}):\n${output.slice(-20000)}` };
    }
  }
  return { name: `terraform ${stack}`, ok: true, seconds: (Date.now() - t0) / 1000 };
}

function renderComment(planJson: string, out: string): string {
  writeFileSync(`${out}.json`, planJson);
  const md = execFileSync('npx', ['tsx', join(ROOT, 'scripts', 'ci', 'plan-summary.ts'), '--env', 'staging', `${out}.json`], { cwd: ROOT, encoding: 'utf8' });
  writeFileSync(`${out}.md`, md);
  return md;
}

/** Staging's fresh plan and a plan that renames a Keyspaces table, rendered as PR comments. */
async function checkComments(ws: Workspace, out: string): Promise<Check[]> {
  const t0 = Date.now();
  const checks: Check[] = [];
  const dir = join(ws.root, 'staging');
  const fresh = await ws.run(dir, ['show', '-json', 'first.tfplan']);
  const freshMd = renderComment(fresh.output, join(out, 'staging-fresh'));
  const added = /\*\*Plan:\*\* ([\d,]+) to add/.exec(freshMd);
  const resources = JSON.parse(fresh.output).resource_changes.filter((c: { mode: string }) => c.mode === 'managed').length;
  checks.push({
    name: 'comment on staging fresh plan',
    ok: added !== null && Number(added[1].replace(/,/g, '')) === resources && !freshMd.includes('[!CAUTION]'),
    seconds: (Date.now() - t0) / 1000,
    detail: `expected "${resources} to add" and no data-loss warning in:\n${freshMd.slice(0, 3000)}`,
  });

  const t1 = Date.now();
  const renamed = join(ws.root, 'staging-renamed-table');
  cpSync(dir, renamed, { recursive: true });
  const tfPath = join(renamed, 'cdk.tf.json');
  const tf = JSON.parse(readFileSync(tfPath, 'utf8'));
  const [oldKey] = Object.keys(tf.resource.aws_keyspaces_table);
  const table = tf.resource.aws_keyspaces_table[oldKey];
  const newName = `${table.table_name}_v2`;
  delete tf.resource.aws_keyspaces_table[oldKey];
  tf.resource.aws_keyspaces_table[`${oldKey}_v2`] = { ...table, table_name: newName };
  writeFileSync(tfPath, JSON.stringify(tf));
  const plan = await ws.run(renamed, ['plan', '-input=false', '-no-color', '-lock=false', '-out=rename.tfplan']);
  const shown = plan.code === 0 ? await ws.run(renamed, ['show', '-json', 'rename.tfplan']) : plan;
  let md = '';
  if (plan.code === 0) md = renderComment(shown.output, join(out, 'staging-renamed-table'));
  checks.push({
    name: 'comment warns on a renamed table',
    ok: md.includes('[!CAUTION]') && md.includes(`**DESTROY** \`aws_keyspaces_table.${oldKey}\``),
    seconds: (Date.now() - t1) / 1000,
    detail: plan.code === 0 ? `expected a data-loss warning for aws_keyspaces_table.${oldKey} in:\n${md.slice(0, 3000)}` : plan.output.slice(-5000),
  });
  return checks;
}

/** The mock provider's own tests (tools/mock-provider/*_test.go). */
function checkMockProvider(): Check {
  const t0 = Date.now();
  try {
    execFileSync('go', ['test', './...'], {
      cwd: join(ROOT, 'tools', 'mock-provider'),
      encoding: 'utf8',
      stdio: 'pipe',
      env: { ...process.env, GOFLAGS: '-buildvcs=false' },
    });
    return { name: 'mock provider go test', ok: true, seconds: (Date.now() - t0) / 1000 };
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return { name: 'mock provider go test', ok: false, seconds: (Date.now() - t0) / 1000, detail: `${stdout ?? ''}${stderr ?? ''}` };
  }
}

/** Every stack pins each provider to one exact version (issue 9: no lock file, so no ranges). */
function checkPinnedProviders(stacksDir: string, stacks: string[]): Check {
  const loose: string[] = [];
  for (const stack of stacks) {
    const tf = JSON.parse(readFileSync(join(stacksDir, stack, 'cdk.tf.json'), 'utf8'));
    for (const [name, req] of Object.entries<{ version?: string }>(tf.terraform?.required_providers ?? {})) {
      if (!/^\d+\.\d+\.\d+$/.test(req.version ?? '')) loose.push(`${stack}: ${name} = ${JSON.stringify(req.version ?? null)}`);
    }
  }
  return {
    name: 'provider versions pinned exactly',
    ok: loose.length === 0,
    seconds: 0,
    detail: `required_providers must name one exact version (e.g. "6.25.0"); found:\n${loose.join('\n')}`,
  };
}

async function pool<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]);
      }
    }),
  );
  return results;
}

/** The image tag the synthesized stacks deploy; any published-looking tag, as CI passes one. */
const TEST_IMAGE_TAG = 'sha-0000000000000000000000000000000000000000';

/** Synthesizes every stack as `cdktf deploy` would, into `outdir`; returns its stacks folder. */
function synthesize(outdir: string): string {
  execFileSync(process.execPath, ['--import', 'tsx', 'main.ts'], {
    cwd: ROOT,
    env: { ...process.env, APP_IMAGE_TAG: TEST_IMAGE_TAG, CDKTF_OUTDIR: outdir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(outdir, 'stacks');
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const synthDir = options.stacksDir ? undefined : mkdtempSync(join(tmpdir(), 'sdp-synth-'));
  const stacksDir = options.stacksDir ?? synthesize(synthDir!);
  if (!existsSync(stacksDir)) throw new Error(`${stacksDir} does not exist: synthesize first (\`npm run synth\`)`);
  const stacks = options.stacks ?? readdirSync(stacksDir).sort();
  const terraform = toolPath('ensure_terraform');
  const mockProvider = toolPath('ensure_mock_provider');
  const root = mkdtempSync(join(tmpdir(), 'sdp-terraform-'));
  mkdirSync(options.out, { recursive: true });
  const t0 = Date.now();
  const checks: Check[] = [];
  try {
    const ws = new Workspace(root, terraform, mockProvider, stacksDir);
    const report = (c: Check) => {
      console.log(`${c.ok ? 'PASS' : 'FAIL'} ${c.name} (${c.seconds.toFixed(0)}s)`);
      if (!c.ok && c.detail) console.log(c.detail.replace(/^/gm, '    '));
      checks.push(c);
    };
    report(checkMockProvider());
    report(checkPinnedProviders(stacksDir, stacks));
    await pool(stacks, 2, async (s) => report(await checkStack(ws, s)));
    if (stacks.includes('staging') && checks.find((c) => c.name === 'terraform staging')?.ok) {
      for (const c of await checkComments(ws, options.out)) report(c);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    if (synthDir) rmSync(synthDir, { recursive: true, force: true });
  }
  const failed = checks.filter((c) => !c.ok).length;
  console.log(`terraform stage took ${((Date.now() - t0) / 1000).toFixed(0)}s`);
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`test-stacks: ${error.message}`);
    process.exit(1);
  },
);
