// Preloaded by bench-synth: reports this process's peak RSS and CPU time when it exits.
process.on('exit', () => {
  const u = process.resourceUsage();
  const line = JSON.stringify({ maxRssKiB: u.maxRSS, userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000 });
  require('fs').writeSync(2, `__usage__${line}\n`);
});
