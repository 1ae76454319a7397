export function inc(x: number): number;
export function incAll(xs: number[]): number[];
export function fib(n: number): number;
export function sumArray(values: Float64Array | Record<string, number>): number;
export function spin(ms: number): number;
export default inc;
