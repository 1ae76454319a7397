/**
 * A preload (`node --import ./test/helpers/start-method.ts`) that sets the start
 * method MULTIPROC_START_METHOD names before the program runs, as a ported Python
 * program calls multiprocessing.set_start_method() first. `npm test` runs the
 * acceptance suite once more this way on "process" (all but its start-method
 * checks in module.test.ts, which are about the default). A TypeScript preload
 * also checks that OS children get tsx before the program's own --import modules.
 */
import * as mp from "multiproc";

const method = process.env.MULTIPROC_START_METHOD;
if (method) mp.setStartMethod(method as mp.StartMethod);
