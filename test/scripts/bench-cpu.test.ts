import { CpuMeter, machineCpuSeconds, processCpuSeconds } from '../../scripts/bench/cpu';

const linux = process.platform === 'linux' ? describe : describe.skip;

linux('CPU accounting from /proc', () => {
  test('a busy loop shows up as this process\'s CPU time', () => {
    const meter = new CpuMeter({ self: process.pid, gone: 2 ** 22 + 12_345 });
    const until = Date.now() + 300;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const report = meter.stop();
    expect(x).toBeGreaterThan(0);
    expect(report.seconds.self).toBeGreaterThan(0.15);
    expect(report.seconds.self).toBeLessThan(5);
    expect(report.seconds.gone).toBeUndefined(); // a process that does not exist is left out
    expect(report.machineBusyShare).toBeGreaterThan(0);
    expect(report.machineBusyShare).toBeLessThanOrEqual(1);
  });

  test('readers return undefined for a missing process and totals for the machine', () => {
    expect(processCpuSeconds(2 ** 22 + 12_345)).toBeUndefined();
    const m = machineCpuSeconds()!;
    expect(m.total).toBeGreaterThan(m.busy);
  });
});
