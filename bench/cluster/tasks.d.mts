/** Types of tasks.mjs (plain JavaScript, so BullMQ's worker loads it without tsx). */
export declare function inc(x: number): number;
export declare function incAll(xs: number[]): number[];
export declare function spin(ms: number): number;
