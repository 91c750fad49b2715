import { spawnSync } from 'child_process';
import { CpuMeter, finishedChildrenCpuSeconds, machineCpuSeconds, processCpuSeconds } from '../../scripts/bench/cpu';

const linux = process.platform === 'linux' ? describe : describe.skip;

linux('CPU accounting from /proc', () => {
  test("a busy loop shows up as this process's CPU time", () => {
    const meter = new CpuMeter({ self: process.pid, gone: 2 ** 22 + 12_345 });
    // Spin until this process itself has used 0.3 s of CPU, however busy the machine is
    // (a wall-clock loop gets less CPU on a loaded machine); the wall bound only stops a hang.
    const start = process.cpuUsage();
    const wallLimit = Date.now() + 60_000;
    const ownSeconds = () => {
      const u = process.cpuUsage(start);
      return (u.user + u.system) / 1e6;
    };
    let x = 0;
    while (ownSeconds() < 0.3 && Date.now() < wallLimit) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    const used = ownSeconds();
    const report = meter.stop();
    expect(x).toBeGreaterThan(0);
    // /proc counts in clock ticks (10 ms): allow a few ticks either way of what Node measured.
    expect(report.seconds.self).toBeGreaterThan(used - 0.05);
    expect(report.seconds.self).toBeLessThan(used + 0.5);
    expect(report.seconds.gone).toBeUndefined(); // a process that does not exist is left out
    expect(report.machineBusyShare).toBeGreaterThan(0);
    expect(report.machineBusyShare).toBeLessThanOrEqual(1 + 1e-9); // a ratio of tick counts, in floating point
  });

  test('a child that ran to completion counts under the name given for finished children', () => {
    const meter = new CpuMeter({}, 'tool');
    // The child spins until it has used 0.3 s of CPU itself; spawnSync waits for it.
    const spin = 'const s=process.cpuUsage();let x=0;while((process.cpuUsage(s).user+process.cpuUsage(s).system)<3e5)x+=Math.sqrt(x+1);';
    const child = spawnSync(process.execPath, ['-e', spin], { timeout: 60_000 });
    expect(child.status).toBe(0);
    const report = meter.stop();
    // At least the 0.3 s it spun; Node's own start-up adds some (a tick is 10 ms).
    expect(report.seconds.tool).toBeGreaterThan(0.25);
    expect(report.seconds.tool).toBeLessThan(5);
    expect(new CpuMeter({}).stop().seconds).toEqual({});
    expect(finishedChildrenCpuSeconds()).toBeGreaterThan(0);
  });

  test('readers return undefined for a missing process and totals for the machine', () => {
    expect(processCpuSeconds(2 ** 22 + 12_345)).toBeUndefined();
    const m = machineCpuSeconds()!;
    expect(m.total).toBeGreaterThan(m.busy);
  });
});
