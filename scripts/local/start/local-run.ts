/**
 * Settings a local run gives the apps on top of their defaults: the lake uploads an open file's
 * new readings as parts after 2 s (default 10 s) and the processor closes an idle partition's last windows after 2 s
 * (default 15 s), so a short run completes in seconds and end-to-end latency stays low. The
 * price is more lake requests: an open file's newest sub-block is re-encoded as a part every 2 s
 * (docs/lake.md). Production keeps the defaults. Shared by `npm start` and `npm run bench`.
 */
export const localRunEnv = {
  processor: { PROCESSOR_WINDOW_IDLE_FLUSH_MS: '2000' },
  'lake-sink': { LAKE_SINK_IDLE_FLUSH_MS: '2000' },
} as const;
