/** Milliseconds since an arbitrary origin, with sub-millisecond precision. */
export function nowMs(): number {
  return performance.now();
}

/** The value below which `p` percent of the samples fall (nearest rank). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function median(samples: number[]): number {
  return percentile(samples, 50);
}

export function max(samples: number[]): number {
  return samples.length === 0 ? Number.NaN : Math.max(...samples);
}

/** Formats a number of milliseconds for a table cell. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function ratio(value: number, base: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return "n/a";
  return `${(value / base).toFixed(2)}×`;
}

export function megabytes(kilobytes: number): string {
  return Number.isFinite(kilobytes) ? `${(kilobytes / 1024).toFixed(0)} MB` : "n/a";
}

/** Runs `worker` `total` times with at most `concurrency` calls in flight and returns each call's latency. */
export async function runConcurrently(
  total: number,
  concurrency: number,
  worker: (index: number) => Promise<void>,
): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = nowMs();
  async function lane(): Promise<void> {
    while (next < total) {
      const index = next++;
      const t0 = nowMs();
      await worker(index);
      latencies.push(nowMs() - t0);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return { latencies, wallMs: nowMs() - started };
}
