/** Option shapes shared by the proxies (the local classes' shapes: `{ block, timeout }`). */
export interface BlockingOptions {
  block?: boolean;
  timeout?: number;
}

/** `{ block, timeout }`, or a plain boolean for `block` (Python's `acquire(False)`). */
export type AcquireOptionsLike = BlockingOptions | boolean;
