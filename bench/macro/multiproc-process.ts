/** multiproc on OS child processes (`context: "process"`): see multiproc.ts. */
import { multiproc } from "./multiproc.ts";

export default multiproc("process");
