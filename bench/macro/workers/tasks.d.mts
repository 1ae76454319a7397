export function inc(x: number): number;
export function incAll(xs: number[]): number[];
export function spin(ms: number): number;
export default inc;
