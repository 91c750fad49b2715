/**
 * Benchmark: wall time and peak RSS of a full synth of all environments, as a user runs it
 * (`npm run synth`: a fresh Node process, TypeScript loaded by tsx/esbuild).
 * Prints figures; asserts nothing. Usage: npm run bench:synth [-- --runs 5]
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

interface Sample {
  wallMs: number;
  maxRssMiB: number;
  cpuMs: number;
}

function synthOnce(): Sample {
  rmSync(join(root, 'cdktf.out'), { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-r', './scripts/bench/report-usage.js', 'main.ts', '--placeholder-image-tag'], {
    cwd: root,
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`synth failed (exit ${res.status}):\n${res.stderr}`);
  const usage = /__usage__(\{.*\})/.exec(res.stderr);
  if (!usage) throw new Error('synth did not report its resource usage');
  const u = JSON.parse(usage[1]);
  return { wallMs, maxRssMiB: u.maxRssKiB / 1024, cpuMs: u.userMs + u.systemMs };
}

const samples = Array.from({ length: runs }, synthOnce);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
const summary = {
  runs,
  wallMsMedian: Math.round(median(samples.map((s) => s.wallMs))),
  wallMsMax: Math.round(Math.max(...samples.map((s) => s.wallMs))),
  peakRssMiBMax: Math.round(Math.max(...samples.map((s) => s.maxRssMiB))),
  cpuMsMedian: Math.round(median(samples.map((s) => s.cpuMs))),
  targets: { wallMs: 5000, peakRssMiB: 600 },
};
for (const [i, s] of samples.entries()) {
  console.log(`run ${i + 1}: ${s.wallMs.toFixed(0)} ms wall, ${s.cpuMs.toFixed(0)} ms CPU, ${s.maxRssMiB.toFixed(0)} MiB peak RSS`);
}
console.log(`full synth (dev, staging, prod): median ${summary.wallMsMedian} ms, max ${summary.wallMsMax} ms, peak RSS ${summary.peakRssMiBMax} MiB`);
console.log(JSON.stringify(summary));
