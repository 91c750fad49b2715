/**
 * The one process launcher (scripts/local/launcher.ts) with real child processes: `node -e`
 * scripts stand in for the services and apps. They prove the signalling, process-group and
 * pid-file logic on Linux; they cannot prove how a real JVM or app reacts to SIGTERM.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { done, groupAlive, isAlive, launch, pending, runningPid, stopRecorded, waitFor, WaitTimeoutError } from '../../scripts/local/launcher';

jest.setTimeout(60_000);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const node = (name: string, script: string, extra: { pidFile?: string; marker?: string } = {}) =>
  launch({ name, command: process.execPath, args: ['-e', script, name], cwd: dir, logFile: path.join(dir, `${name}.log`), ...extra });

/** Resolves once the log shows `text`: the script got as far as installing its handlers. */
const logShows = (file: string, text: string) =>
  waitFor(`${text} in ${file}`, async () => (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(text) ? done(undefined) : pending('not yet')), {
    timeoutMs: 30_000,
    intervalMs: 50,
  });

describe('launch', () => {
  test('captures stdout and stderr in the log, after a header, and reports the exit', async () => {
    const p = node('talker', "console.log('to stdout'); console.error('to stderr'); process.exit(3)");
    expect(await p.exited).toEqual({ code: 3, signal: null });
    expect(p.running).toBe(false);
    const log = fs.readFileSync(p.logFile, 'utf8');
    expect(log).toMatch(/^===== talker started \d{4}-/);
    expect(log).toContain('to stdout');
    expect(log).toContain('to stderr');
    expect(p.logTail(1)).toBe('to stderr');
  });

  test('a command that does not exist fails with its name', () => {
    expect(() => launch({ name: 'ghost', command: path.join(dir, 'no-such-binary'), args: [], cwd: dir, logFile: path.join(dir, 'ghost.log') })).toThrow(
      /could not start ghost/,
    );
  });
});

describe('stop', () => {
  test('SIGTERM is enough for a process that exits on it: not forced', async () => {
    const p = node('polite', "process.on('SIGTERM', () => { console.log('term'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000)");
    await logShows(p.logFile, 'ready');
    const r = await p.stop(20_000);
    expect(r.forced).toBe(false);
    expect(r.exit.code).toBe(0);
    expect(p.logTail()).toContain('term');
  });

  test('a process that ignores SIGTERM is killed once the grace period is over', async () => {
    const p = node('stubborn', "process.on('SIGTERM', () => console.log('ignored')); console.log('ready'); setInterval(() => {}, 1000)");
    await logShows(p.logFile, 'ready');
    const began = Date.now();
    const r = await p.stop(500);
    expect(r.forced).toBe(true);
    expect(r.exit.signal).toBe('SIGKILL');
    expect(Date.now() - began).toBeGreaterThanOrEqual(500);
    expect(isAlive(p.pid)).toBe(false);
  });

  test('the whole process group goes, grandchildren included, before stop resolves', async () => {
    // The parent exits on SIGTERM at once; its child ignores SIGTERM and must be killed too.
    const child = "process.on('SIGTERM', () => {}); console.log('armed'); setInterval(() => {}, 1000)";
    const p = node(
      'forking',
      `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: 'inherit' });` +
        "console.log('grandchild ' + c.pid); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)",
    );
    await logShows(p.logFile, 'armed');
    const grandchild = Number(/grandchild (\d+)/.exec(fs.readFileSync(p.logFile, 'utf8'))![1]);
    expect(isAlive(grandchild)).toBe(true);
    const r = await p.stop(1_000);
    expect(r.forced).toBe(true);
    expect(isAlive(grandchild)).toBe(false);
    expect(groupAlive(p.pid)).toBe(false);
  });

  test('kill is a crash: SIGKILL without a SIGTERM first', async () => {
    const p = node('crashing', "process.on('SIGTERM', () => console.log('got SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)");
    await logShows(p.logFile, 'ready');
    expect(await p.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.readFileSync(p.logFile, 'utf8')).not.toContain('got SIGTERM');
  });
});

describe('pid files', () => {
  test('another process finds a recorded process by its pid file and stops it', async () => {
    const pidFile = path.join(dir, 'svc.pid');
    const p = node('svc', "console.log('ready'); setInterval(() => {}, 1000)", { pidFile, marker: 'svc' });
    await logShows(p.logFile, 'ready');
    expect(runningPid(pidFile)).toBe(p.pid);
    const r = await stopRecorded(pidFile, 10_000);
    expect(r).toEqual({ pid: p.pid, forced: false });
    expect(fs.existsSync(pidFile)).toBe(false);
    expect(runningPid(pidFile)).toBeUndefined();
    expect(await stopRecorded(pidFile, 10_000)).toEqual({ pid: undefined, forced: false });
  });

  test('a pid whose command line lacks the marker (a recycled pid) is not ours', async () => {
    const pidFile = path.join(dir, 'other.pid');
    fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, marker: 'definitely-not-jest-xyz', startedAt: new Date().toISOString() }));
    expect(runningPid(pidFile)).toBeUndefined();
    expect(await stopRecorded(pidFile, 1_000)).toEqual({ pid: undefined, forced: false });
  });

  test('a pid file needs a marker', () => {
    expect(() => node('unmarked', '', { pidFile: path.join(dir, 'x.pid') })).toThrow(/needs a marker/);
  });
});

describe('waitFor', () => {
  test('polls until the condition holds and returns its value', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', async () => (++n >= 3 ? done(n) : pending(`n=${n}`)), { timeoutMs: 10_000, intervalMs: 10 })).resolves.toBe(3);
  });

  test('times out with what it waited for and the last observation', async () => {
    const wait = waitFor('the moon', async () => pending('still cheese'), { timeoutMs: 50, intervalMs: 10 });
    await expect(wait).rejects.toThrow(WaitTimeoutError);
    await expect(wait).rejects.toThrow(/waiting for the moon; last observed: still cheese/);
  });

  test('a guard aborts the wait; a failing probe counts as not yet', async () => {
    let calls = 0;
    const wait = waitFor(
      'x',
      async () => {
        calls += 1;
        throw new Error('connection refused');
      },
      {
        timeoutMs: 10_000,
        intervalMs: 10,
        guard: () => {
          if (calls >= 2) throw new Error('the app died');
        },
      },
    );
    await expect(wait).rejects.toThrow('the app died');
  });
});

describe('stop with nothing else to do', () => {
  // A process whose only pending work is stopping a launched (unref'd) child must not exit
  // before the stop resolves: Node ends a process whose event loop is empty, with code 0.
  test('resolves and lets the caller go on, every time', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-stop-'));
    const script = path.join(dir, 'stop.ts');
    const launcher = path.join(__dirname, '../../scripts/local/launcher');
    fs.writeFileSync(
      script,
      `import { launch } from ${JSON.stringify(launcher)};\n` +
        `const p = launch({ name: 'sleeper', command: 'sh', args: ['-c', 'sleep 30'], logFile: ${JSON.stringify(path.join(dir, 'sleeper.log'))} });\n` +
        `p.stop(5000).then((r) => console.log('stopped', r.exit.signal));\n`,
    );
    for (let i = 0; i < 5; i++) {
      const out = require('child_process').execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
      expect(out.trim()).toBe('stopped SIGTERM');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
