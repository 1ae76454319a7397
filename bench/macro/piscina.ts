/** piscina: tasks by export name from the shared worker module; no map, so map runs in chunks. */
import { piscinaLike } from "./piscina-like.ts";

export default await piscinaLike("piscina", "Piscina");
