/**
 * .trivyignore.yaml: every accepted finding says why and until when, and no acceptance outlives
 * a review. The checker runs on the real file, and on entries made to break each rule.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';

const FILE = join(__dirname, '..', '..', '.trivyignore.yaml');
/** Longest an acceptance may run before someone looks at the finding again. */
const MAX_DAYS = 90;
/** Sections of trivy's YAML ignore file; each holds entries with an `id`. */
const SECTIONS = ['vulnerabilities', 'misconfigurations', 'secrets', 'licenses'];
const DAY_MS = 86_400_000;

/** What is wrong with an ignore file on `today` (UTC midnight), one line per problem. */
function ignoreFileProblems(text: string, today: Date): string[] {
  const doc: unknown = parse(text) ?? {};
  if (typeof doc !== 'object' || Array.isArray(doc)) return ['the file must be a mapping of sections'];
  const problems: string[] = [];
  for (const [section, entries] of Object.entries(doc as Record<string, unknown>)) {
    if (!SECTIONS.includes(section)) {
      problems.push(`${section}: not a section trivy reads (${SECTIONS.join(', ')})`);
      continue;
    }
    if (!Array.isArray(entries)) {
      problems.push(`${section}: must be a list`);
      continue;
    }
    entries.forEach((entry: Record<string, unknown>, i) => {
      const where = `${section}[${i}] (${String(entry?.id ?? 'no id')})`;
      if (typeof entry?.id !== 'string' || entry.id === '') problems.push(`${where}: id is missing`);
      if (typeof entry?.statement !== 'string' || entry.statement.trim() === '') problems.push(`${where}: statement (the reason) is missing`);
      const expiry = entry?.expired_at;
      if (expiry === undefined) {
        problems.push(`${where}: expired_at (the expiry) is missing`);
        return;
      }
      const date = typeof expiry === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(expiry) ? new Date(`${expiry}T00:00:00Z`) : undefined;
      if (!date || Number.isNaN(date.getTime())) {
        problems.push(`${where}: expired_at '${String(expiry)}' is not a date as YYYY-MM-DD`);
        return;
      }
      const days = Math.round((date.getTime() - today.getTime()) / DAY_MS);
      if (days <= 0) problems.push(`${where}: expired on ${expiry}: fix the finding, or renew the entry with a new statement`);
      else if (days > MAX_DAYS) problems.push(`${where}: expires ${expiry}, ${days} days ahead; at most ${MAX_DAYS}`);
    });
  }
  return problems;
}

const utcToday = (): Date => new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);

it('.trivyignore.yaml gives every entry a reason and an expiry within 90 days', () => {
  expect(ignoreFileProblems(readFileSync(FILE, 'utf8'), utcToday())).toEqual([]);
});

describe('the checker', () => {
  const today = new Date('2026-12-01T00:00:00Z');
  const entry = (fields: Record<string, unknown>) => `vulnerabilities:\n  - ${JSON.stringify({ id: 'CVE-2026-0001', ...fields })}\n`;

  it('accepts an entry with a reason that expires within 90 days', () => {
    expect(ignoreFileProblems(entry({ statement: 'Not reachable: the apps never parse untrusted XML', expired_at: '2027-03-01' }), today)).toEqual([]);
    expect(ignoreFileProblems('vulnerabilities: []\n', today)).toEqual([]);
  });

  it.each([
    ['no reason', { expired_at: '2027-01-01' }, 'vulnerabilities[0] (CVE-2026-0001): statement (the reason) is missing'],
    ['a blank reason', { statement: ' ', expired_at: '2027-01-01' }, 'vulnerabilities[0] (CVE-2026-0001): statement (the reason) is missing'],
    ['no expiry', { statement: 'why' }, 'vulnerabilities[0] (CVE-2026-0001): expired_at (the expiry) is missing'],
    [
      'an expiry in the past',
      { statement: 'why', expired_at: '2026-11-30' },
      'vulnerabilities[0] (CVE-2026-0001): expired on 2026-11-30: fix the finding, or renew the entry with a new statement',
    ],
    [
      'an expiry of today',
      { statement: 'why', expired_at: '2026-12-01' },
      'vulnerabilities[0] (CVE-2026-0001): expired on 2026-12-01: fix the finding, or renew the entry with a new statement',
    ],
    [
      'an expiry over 90 days ahead',
      { statement: 'why', expired_at: '2027-03-02' },
      'vulnerabilities[0] (CVE-2026-0001): expires 2027-03-02, 91 days ahead; at most 90',
    ],
    [
      'an expiry that is no date',
      { statement: 'why', expired_at: 'next year' },
      "vulnerabilities[0] (CVE-2026-0001): expired_at 'next year' is not a date as YYYY-MM-DD",
    ],
  ])('refuses %s', (_, fields, problem) => {
    expect(ignoreFileProblems(entry(fields), today)).toEqual([problem]);
  });

  it('checks every section, and refuses one trivy does not read', () => {
    const text = 'secrets:\n  - id: aws-access-key-id\n    statement: test fixture\nvulnerability:\n  - id: CVE-1\n';
    expect(ignoreFileProblems(text, today)).toEqual([
      'secrets[0] (aws-access-key-id): expired_at (the expiry) is missing',
      'vulnerability: not a section trivy reads (vulnerabilities, misconfigurations, secrets, licenses)',
    ]);
  });
});
