/**
 * What runtime/library.ts loads: the whole library, for the wire revivers its classes
 * register. A module of its own rather than a dynamic import of index.ts, so that the
 * bundler puts the library's code in a chunk shared with dist/index.js (one level under
 * dist/, where the paths the backends compute from import.meta.url hold) rather than
 * in dist/index.js itself.
 */
import "../index.ts";
