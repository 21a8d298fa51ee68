import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof makeDb>;
const makeDb = (d1: D1Database) => drizzle(d1, { schema });

// One drizzle instance per binding: building one walks the whole schema, and every query site asks for it.
const instances = new WeakMap<D1Database, Db>();
export const db = (d1: D1Database): Db => {
  let d = instances.get(d1);
  if (!d) {
    d = makeDb(d1);
    instances.set(d1, d);
  }
  return d;
};
export { schema };
