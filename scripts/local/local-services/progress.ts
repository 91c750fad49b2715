/** Concise progress on stderr, so `local-services env` keeps a clean stdout for `eval`. */
export function say(message: string): void {
  process.stderr.write(`[local-services] ${message}\n`);
}

export const seconds = (sinceMs: number): string => `${((Date.now() - sinceMs) / 1000).toFixed(1)}s`;

/** Runs `fn`, then reports how long it took. */
export async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  say(`${label} (${seconds(started)})`);
  return result;
}
