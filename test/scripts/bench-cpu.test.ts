import { CpuMeter, machineCpuSeconds, processCpuSeconds } from '../../scripts/bench/cpu';

const linux = process.platform === 'linux' ? describe : describe.skip;

linux('CPU accounting from /proc', () => {
  test('a busy loop shows up as this process\'s CPU time', () => {
    const meter = new CpuMeter({ self: process.pid, gone: 2 ** 22 + 12_345 });
    // Spin until getrusage (an independent account) says 0.3 CPU-seconds went by: on a busy
    // machine that takes longer in wall time, but the CPU time is the same.
    const before = process.cpuUsage();
    const spent = () => {
      const u = process.cpuUsage(before);
      return (u.user + u.system) / 1e6;
    };
    const wallLimit = Date.now() + 30_000;
    let x = 0;
    while (spent() < 0.3 && Date.now() < wallLimit) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    const report = meter.stop();
    const independent = spent();
    expect(x).toBeGreaterThan(0);
    expect(independent).toBeGreaterThanOrEqual(0.3);
    // /proc counts in clock ticks (10 ms): within a few ticks of getrusage.
    expect(report.seconds.self).toBeGreaterThan(independent - 0.05);
    expect(report.seconds.self).toBeLessThan(independent + 0.5);
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
