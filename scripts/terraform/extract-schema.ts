/**
 * Reads the schema of exactly the providers, resources and data sources that the synthesized
 * stacks use out of the cdktf bindings in node_modules/@cdktf/provider-*, and writes it in the
 * format of `terraform providers schema -json`, for the mock provider (tools/mock-provider).
 *
 * The bindings are generated from the real providers' schemas and still say, per attribute, its
 * type (`synthesizeHclAttributes` / `*ToHclTerraform`), whether it is a block and whether a list,
 * a set or a single object, whether at most one is allowed (an `*OutputReference` field rather
 * than a `*List`), and `// name - computed: …, optional: …, required: …` above each getter.
 * They do not say which attributes are sensitive or force replacement, nor the schema versions.
 *
 * Usage: tsx scripts/terraform/extract-schema.ts [cdktf.out/stacks] [out.json]
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type SchemaType = string | [string, SchemaType] | ['object', Record<string, SchemaType>];

export interface SchemaAttribute {
  type: SchemaType;
  required?: true;
  optional?: true;
  computed?: true;
}

export interface SchemaBlockType {
  nesting_mode: 'list' | 'set' | 'single';
  block: SchemaBlock;
  min_items?: number;
  max_items?: number;
}

export interface SchemaBlock {
  attributes: Record<string, SchemaAttribute>;
  block_types: Record<string, SchemaBlockType>;
}

export interface ProviderSchema {
  provider: { version: number; block: SchemaBlock };
  resource_schemas: Record<string, { version: number; block: SchemaBlock }>;
  data_source_schemas: Record<string, { version: number; block: SchemaBlock }>;
}

export interface ProvidersSchema {
  format_version: '1.0';
  provider_schemas: Record<string, ProviderSchema>;
}

/** The cdktf binding package of each provider the stacks use. */
const PACKAGES: Record<string, string> = {
  aws: '@cdktf/provider-aws',
  kubernetes: '@cdktf/provider-kubernetes',
  helm: '@cdktf/provider-helm',
};

const ROOT = resolve(__dirname, '..', '..');

interface Flags {
  computed: boolean;
  optional: boolean;
  required: boolean;
}

/** One generated JS file, with the pieces of it that describe an object: a class and a function. */
class BindingFile {
  constructor(
    readonly path: string,
    private readonly source: string,
  ) {}

  /** A binding's index.js and, for large types, the structs it keeps in index-structs/. */
  static load(path: string): BindingFile {
    const dir = dirname(path);
    const structs = join(dir, 'index-structs');
    const parts = [readFileSync(path, 'utf8')];
    if (existsSync(structs)) {
      for (const f of readdirSync(structs)
        .filter((n) => n.endsWith('.js'))
        .sort())
        parts.push(readFileSync(join(structs, f), 'utf8'));
    }
    return new BindingFile(path, parts.join('\n'));
  }

  /** The body of `class <name> extends …`, or undefined. */
  classBody(name: string): string | undefined {
    const start = this.source.indexOf(`\nclass ${name} extends `);
    if (start < 0) return undefined;
    const end = this.source.indexOf('\n}\n', start);
    return this.source.slice(start, end);
  }

  functionBody(name: string): string {
    const start = this.source.indexOf(`\nfunction ${name}(`);
    if (start < 0) throw new Error(`${this.path}: no function ${name}`);
    return this.source.slice(start, this.source.indexOf('\n}\n', start));
  }

  /** The class that declares `<Class>.tfResourceType = "<type>"`. */
  classOfType(type: string): string | undefined {
    return new RegExp(`\\n(\\w+)\\.tfResourceType = "${type}";`).exec(this.source)?.[1];
  }
}

const HCL_ENTRY = /\n {8,}(\w+): \{\n\s+value: (.*),\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n\s+storageClassType: "(\w+)",\n\s+\}/g;
const FLAGS = /\/\/ (\w+) - computed: (true|false), optional: (true|false), required: (true|false)(?=\n\s*(.*)\n\s*(.*))/g;

function flagsOf(classBody: string | undefined): Map<string, Flags & { code: string }> {
  const out = new Map<string, Flags & { code: string }>();
  for (const m of (classBody ?? '').matchAll(FLAGS)) {
    out.set(m[1], { computed: m[2] === 'true', optional: m[3] === 'true', required: m[4] === 'true', code: `${m[5]}\n${m[6]}` });
  }
  return out;
}

const PRIMITIVES: Record<string, string> = { string: 'string', number: 'number', boolean: 'bool' };

function primitiveOf(storageClassType: string, where: string): SchemaType {
  const simple = PRIMITIVES[storageClassType];
  if (simple) return simple;
  const collection = /^(string|number|boolean)(List|Map)$/.exec(storageClassType);
  if (collection) return PRIMITIVES[collection[1]];
  throw new Error(`${where}: storage class ${storageClassType} is not one the extractor knows; extend primitiveOf`);
}

/**
 * Flags of a configurable attribute. Its setter comes with a `reset<Name>()` exactly when it is
 * optional. Whether an optional attribute is also computed is not in the bindings (the generator
 * writes the `computed:` comment only for read-only attributes and blocks), so it is declared
 * optional and computed: at plan it is unknown when unset, as for every optional+computed
 * attribute of the real provider, instead of null.
 */
function attributeFlags(name: string, classBody: string | undefined): Omit<SchemaAttribute, 'type'> {
  if (classBody === undefined) return { optional: true };
  const pascal = fieldName(name).replace(/^\w/, (c) => c.toUpperCase());
  return classBody.includes(`reset${pascal}() {`) ? { optional: true, computed: true } : { required: true };
}

/** The type a computed-only getter returns, read from its body. */
function getterType(file: BindingFile, classBody: string, name: string, code: string, where: string): SchemaType {
  const accessors: Array<[RegExp, SchemaType]> = [
    [/Fn\.tolist\(this\.getListAttribute\(/, ['set', 'string']],
    [/Fn\.tolist\(this\.getNumberListAttribute\(/, ['set', 'number']],
    [/getStringAttribute\(/, 'string'],
    [/getNumberAttribute\(/, 'number'],
    [/getBooleanAttribute\(/, 'bool'],
    [/getListAttribute\(/, ['list', 'string']],
    [/getNumberListAttribute\(/, ['list', 'number']],
    [/getStringMapAttribute\(/, ['map', 'string']],
    [/getNumberMapAttribute\(/, ['map', 'number']],
    [/getBooleanMapAttribute\(/, ['map', 'bool']],
    [/getAnyMapAttribute\(/, ['map', 'dynamic']],
    [/new cdktf\.StringMap\(/, ['map', 'string']],
    [/new cdktf\.NumberMap\(/, ['map', 'number']],
    [/new cdktf\.BooleanMap\(/, ['map', 'bool']],
  ];
  for (const [pattern, type] of accessors) if (pattern.test(code)) return type;
  const field = new RegExp(`this\\._${fieldName(name)} = new (?:\\w+\\.)?(\\w+)\\(this, "${name}"(?:, (true|false))?\\)`).exec(classBody);
  if (field) {
    const [, cls, wrapsSet] = field;
    if (cls.endsWith('List')) {
      const element = computedObjectType(file, cls.replace(/List$/, 'OutputReference'), `${where}.${name}`);
      return [wrapsSet === 'true' ? 'set' : 'list', element];
    }
    if (cls.endsWith('Map')) return ['map', computedObjectType(file, cls.replace(/Map$/, 'OutputReference'), `${where}.${name}`)];
    return computedObjectType(file, cls, `${where}.${name}`);
  }
  throw new Error(`${where}: cannot tell the type of computed attribute ${name} from ${JSON.stringify(code)}`);
}

function fieldName(attribute: string): string {
  return attribute.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
}

function computedObjectType(file: BindingFile, cls: string, where: string): SchemaType {
  const body = file.classBody(cls);
  if (!body) throw new Error(`${file.path}: no class ${cls} for ${where}`);
  const attrs: Record<string, SchemaType> = {};
  for (const [name, flags] of flagsOf(body)) attrs[name] = getterType(file, body, name, flags.code, where);
  return ['object', attrs];
}

/** The block an object class (resource, data source or nested block) describes. */
function describeBlock(file: BindingFile, hclBody: string, classBody: string | undefined, where: string): SchemaBlock {
  const flags = flagsOf(classBody);
  const block: SchemaBlock = { attributes: {}, block_types: {} };
  for (const m of hclBody.matchAll(HCL_ENTRY)) {
    const [, name, value, isBlock, kind, storage] = m;
    const nestedFn = /(?:^|[^.\w]|(?:index_structs|structs\d+)_\d+\.)(\w+)ToHclTerraform\b/.exec(value)?.[1];
    if (isBlock === 'true' || nestedFn) {
      if (!nestedFn) throw new Error(`${where}.${name}: a block without a *ToHclTerraform function`);
      const cls = `${nestedFn[0].toUpperCase()}${nestedFn.slice(1)}OutputReference`;
      const nested = describeBlock(file, file.functionBody(`${nestedFn}ToHclTerraform`), file.classBody(cls), `${where}.${name}`);
      const field = classBody ? new RegExp(`this\\._${fieldName(name)} = new (?:\\w+\\.)?(\\w+)\\(`).exec(classBody)?.[1] : undefined;
      const blockType: SchemaBlockType = {
        nesting_mode: kind === 'set' ? 'set' : kind === 'struct' ? 'single' : 'list',
        block: nested,
      };
      if (blockType.nesting_mode !== 'single') {
        if (flags.get(name)?.required) blockType.min_items = 1;
        if (field?.endsWith('OutputReference')) blockType.max_items = 1;
      }
      block.block_types[name] = blockType;
      continue;
    }
    const element = primitiveOf(storage, `${where}.${name}`);
    const type: SchemaType = kind === 'simple' ? element : [kind === 'set' ? 'set' : kind === 'map' ? 'map' : 'list', element];
    block.attributes[name] = { type, ...attributeFlags(name, classBody) };
  }
  for (const [name, f] of flags) {
    if (block.attributes[name] || block.block_types[name]) continue;
    if (!f.computed) throw new Error(`${where}.${name}: neither configurable nor computed`);
    block.attributes[name] = { type: getterType(file, classBody!, name, f.code, where), computed: true };
  }
  return block;
}

function bindingDir(provider: string): string {
  return join(ROOT, 'node_modules', PACKAGES[provider], 'lib');
}

/** The binding file of a resource or data source type, e.g. aws_msk_cluster → lib/msk-cluster. */
function bindingFor(provider: string, type: string, data: boolean): { file: BindingFile; cls: string } {
  const stem = type.slice(provider.length + 1).replace(/_/g, '-');
  const dir = join(bindingDir(provider), data ? `data-${provider}-${stem}` : stem, 'index.js');
  if (!existsSync(dir)) throw new Error(`no cdktf binding for ${data ? 'data source' : 'resource'} ${type} at ${dir}`);
  const file = BindingFile.load(dir);
  const cls = file.classOfType(type);
  if (!cls) throw new Error(`${dir} does not declare ${type}`);
  return { file, cls };
}

export function typeSchema(provider: string, type: string, data: boolean): SchemaBlock {
  const { file, cls } = bindingFor(provider, type, data);
  const body = file.classBody(cls)!;
  const hcl = body.slice(body.indexOf('synthesizeHclAttributes()'));
  return describeBlock(file, hcl, body, type);
}

/** The provider block: the bindings give its types but no required/optional flags. */
export function providerBlockSchema(provider: string): SchemaBlock {
  const file = BindingFile.load(join(bindingDir(provider), 'provider', 'index.js'));
  const cls = /\nclass (\w+) extends cdktf\.TerraformProvider/.exec(readFileSync(file.path, 'utf8'))![1];
  const body = file.classBody(cls)!;
  return describeBlock(file, body.slice(body.indexOf('synthesizeHclAttributes()')), undefined, `provider ${provider}`);
}

/** The provider version the bindings were generated from, which the mock provider is served as. */
export function bindingVersion(provider: string): string {
  const source = readFileSync(join(bindingDir(provider), 'provider', 'index.js'), 'utf8');
  const version = /providerVersion: '([^']+)'/.exec(source)?.[1];
  if (!version) throw new Error(`cannot read the provider version of ${PACKAGES[provider]}`);
  return version;
}

export interface StackUsage {
  resources: Map<string, Set<string>>;
  dataSources: Map<string, Set<string>>;
}

function providerOf(type: string): string {
  const provider = type.split('_')[0];
  if (!PACKAGES[provider]) throw new Error(`type ${type} is from provider ${provider}, which the extractor has no bindings for`);
  return provider;
}

/** Which types each provider serves across the synthesized stacks. */
export function stackUsage(stacksDir: string): StackUsage {
  const usage: StackUsage = { resources: new Map(), dataSources: new Map() };
  for (const stack of readdirSync(stacksDir)) {
    const tf = JSON.parse(readFileSync(join(stacksDir, stack, 'cdk.tf.json'), 'utf8'));
    for (const provider of Object.keys(tf.terraform?.required_providers ?? {})) {
      providerOf(`${provider}_`);
      usage.resources.set(provider, usage.resources.get(provider) ?? new Set());
      usage.dataSources.set(provider, usage.dataSources.get(provider) ?? new Set());
    }
    for (const [key, target] of [
      ['resource', usage.resources],
      ['data', usage.dataSources],
    ] as const) {
      for (const type of Object.keys(tf[key] ?? {})) {
        const provider = providerOf(type);
        target.set(provider, (target.get(provider) ?? new Set()).add(type));
      }
    }
  }
  return usage;
}

export function extractSchema(stacksDir: string): ProvidersSchema {
  const usage = stackUsage(stacksDir);
  const out: ProvidersSchema = { format_version: '1.0', provider_schemas: {} };
  for (const [provider, resources] of usage.resources) {
    const schema: ProviderSchema = {
      provider: { version: 0, block: providerBlockSchema(provider) },
      resource_schemas: {},
      data_source_schemas: {},
    };
    for (const type of [...resources].sort()) schema.resource_schemas[type] = { version: 0, block: typeSchema(provider, type, false) };
    for (const type of [...(usage.dataSources.get(provider) ?? [])].sort()) {
      schema.data_source_schemas[type] = { version: 0, block: typeSchema(provider, type, true) };
    }
    out.provider_schemas[`registry.terraform.io/hashicorp/${provider}`] = schema;
  }
  return out;
}

if (require.main === module) {
  const stacksDir = resolve(process.argv[2] ?? join(ROOT, 'cdktf.out', 'stacks'));
  const outPath = resolve(process.argv[3] ?? join(ROOT, 'cdktf.out', 'providers-schema.json'));
  if (!existsSync(stacksDir)) {
    console.error(`extract-schema: ${stacksDir} does not exist; run \`npm run synth\` first`);
    process.exit(2);
  }
  writeFileSync(outPath, `${JSON.stringify(extractSchema(stacksDir), null, 1)}\n`);
  console.log(outPath);
}
