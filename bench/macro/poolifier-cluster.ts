/** poolifier's FixedClusterPool (child processes through Node's cluster module). */
import { poolifier } from "./poolifier.ts";

export default poolifier("process");
