import { ArgsError, DEFAULT_EVENTS, parseStartArgs } from '../../scripts/local/start/args';

const problems = (argv: string[]): string[] => {
  try {
    parseStartArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ArgsError);
    return [...(err as ArgsError).problems];
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
};

describe('parseStartArgs', () => {
  test('defaults: a bounded run at 10k events/s, 1% malformed, progress on stdout', () => {
    expect(parseStartArgs([])).toEqual({
      events: DEFAULT_EVENTS,
      durationSeconds: undefined,
      rate: 10_000,
      devices: 1_000,
      malformed: 0.01,
      keepRunning: false,
      json: false,
      help: false,
    });
  });

  test('reads every option, with units and percentages', () => {
    const o = parseStartArgs(['--events', '20_000', '--duration', '2m', '--rate', '0', '--devices', '50', '--malformed', '2.5%', '--keep-running', '--json']);
    expect(o).toMatchObject({ events: 20_000, durationSeconds: 120, rate: 0, devices: 50, keepRunning: true, json: true });
    expect(o.malformed).toBeCloseTo(0.025);
    expect(parseStartArgs(['--malformed', '0.1']).malformed).toBe(0.1);
    expect(parseStartArgs(['--duration', '1h']).durationSeconds).toBe(3600);
    expect(parseStartArgs(['--duration=90']).durationSeconds).toBe(90);
  });

  test('a duration alone does not also cap the events', () => {
    expect(parseStartArgs(['--duration', '30s'])).toMatchObject({ events: undefined, durationSeconds: 30 });
  });

  test('reports every bad flag by name, at once', () => {
    const p = problems(['--events', 'lots', '--malformed', '150%', '--devices', '0', '--duration', '5 minutes']);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^--events must be a whole number/),
        expect.stringMatching(/^--malformed must be within 0\.\.1/),
        expect.stringMatching(/^--devices must be at least 1/),
        expect.stringMatching(/^--duration must be seconds or a number with s, m or h/),
      ]),
    );
    expect(p).toHaveLength(4);
  });

  test('unknown flags and missing values are errors that name them, followed by the usage', () => {
    expect(problems(['--evnts', '5'])[0]).toMatch(/--evnts/);
    expect(problems(['--events'])[0]).toMatch(/--events/);
    expect(() => parseStartArgs(['--bogus'])).toThrow(/usage: npm start -- \[options\]/);
  });

  test('--help short-circuits validation', () => {
    expect(parseStartArgs(['--help', '--events', 'x']).help).toBe(true);
    expect(parseStartArgs(['-h']).help).toBe(true);
  });
});
