/** Timing helpers shared by every benchmark: a monotonic clock, medians, and one timed measure. */
import { performance } from "node:perf_hooks";

/** One reported number: the median of its samples, in `unit`, with which direction is better. */
export interface Measure {
  value: number;
  unit: string;
  better: "higher" | "lower";
  /** Every timed repetition, in `unit`. */
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Expected at least one sample, got none");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `body` `repeat` times and returns each run's wall time in ms. */
export async function timeRuns(repeat: number, body: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  return times;
}

/** `count` operations per run -> operations per second, median over the runs. */
export function rate(count: number, timesMs: readonly number[], unit: string): Measure {
  const samples = timesMs.map((ms) => (count * 1000) / ms);
  return { value: median(samples), unit, better: "higher", samples };
}

/** Wall times in ms, median over the runs. */
export function duration(timesMs: readonly number[]): Measure {
  return { value: median(timesMs), unit: "ms", better: "lower", samples: [...timesMs] };
}

/** How many times better `ours` is than `theirs` (> 1: ours is better), whichever direction is better. */
export function ratio(ours: number, theirs: number, better: Measure["better"]): number {
  return better === "higher" ? ours / theirs : theirs / ours;
}
