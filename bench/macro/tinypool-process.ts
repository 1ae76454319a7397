/** tinypool with its workers as child processes (`runtime: "child_process"`). */
import { piscinaLike } from "./piscina-like.ts";

export default await piscinaLike("tinypool", "Tinypool", "process");
