/**
 * Resource counters for `npm run bench:scale` (docs/scale.md), on only with METER="true" (local
 * benchmarks; never in production). `metered(env)` hands back the same bindings wrapped so that each
 * use is counted: D1 statements and rows, R2 operations by billing class, queue messages, Durable
 * Object and Workflows calls; `meteredStep` counts a workflow's steps. Counters live in the isolate
 * (the local runtime runs the Worker, its workflows and its objects in one), and
 * `GET /internal/meter` reads them.
 */
import type { WorkflowStep } from "cloudflare:workers";
import type { MeterAnswer, MeterCounts } from "../common/meter.ts";

export type { MeterCounts };

const fresh = (): MeterCounts => ({
  steps: 0,
  stepRuns: 0,
  d1Statements: 0,
  d1RowsRead: 0,
  d1RowsWritten: 0,
  r2ClassA: 0,
  r2ClassB: 0,
  r2Deletes: 0,
  queueSent: {},
  queueDelivered: {},
  doRequests: {},
  workflowCalls: {},
});
let counts = fresh();
const seenSteps = new Set<string>();
const wrapped = new WeakMap<object, Env>();

export function meterSnapshot(reset = false): MeterCounts {
  const out = structuredClone(counts);
  if (reset) {
    counts = fresh();
    seenSteps.clear();
  }
  return out;
}

const add = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

const R2_CLASS_A = new Set(["put", "createMultipartUpload", "resumeMultipartUpload", "list"]);
const R2_CLASS_B = new Set(["get", "head"]);
const QUEUES = ["MEDIA_JOBS", "SUBMISSIONS", "WEBHOOK_DELIVERIES"] as const;
const OBJECTS = ["PROVIDER_POOL", "SHOOT_FEED", "MEDIA_CONTAINER"] as const;
const WORKFLOWS = ["SHOOT", "DELIVER"] as const;

/** The env with its bindings counted, or the env itself when METER is not "true". */
export function metered(env: Env): Env {
  if (env.METER !== "true") return env;
  const known = wrapped.get(env);
  if (known) return known;
  const out = { ...env } as Record<string, unknown>;
  out.DB = meterD1(env.DB);
  out.BUCKET = proxyMethods(env.BUCKET, (name) => {
    if (R2_CLASS_A.has(name)) counts.r2ClassA++;
    else if (R2_CLASS_B.has(name)) counts.r2ClassB++;
    else if (name === "delete") counts.r2Deletes++;
  });
  for (const q of QUEUES)
    out[q] = proxyMethods(env[q], (name, args) => {
      if (name === "send") add(counts.queueSent, q);
      if (name === "sendBatch") add(counts.queueSent, q, (args[0] as unknown[]).length);
    });
  for (const o of OBJECTS) {
    const ns = env[o] as unknown as DurableObjectNamespace;
    out[o] = new Proxy(ns, {
      get(t, p) {
        const v = Reflect.get(t, p, t);
        if (p !== "get" && p !== "getByName") return typeof v === "function" ? (...a: unknown[]) => Reflect.apply(v, t, a) : v;
        return (...args: unknown[]) => proxyMethods(Reflect.apply(v as (...a: unknown[]) => object, t, args), () => add(counts.doRequests, o));
      },
    });
  }
  for (const w of WORKFLOWS) {
    const wf = env[w] as unknown as Workflow;
    out[w] = new Proxy(wf, {
      get(t, p) {
        const v = Reflect.get(t, p, t);
        if (typeof v !== "function") return v;
        return async (...args: unknown[]) => {
          add(counts.workflowCalls, `${w}.${String(p)}`);
          const r = await Reflect.apply(v as (...a: unknown[]) => Promise<unknown>, t, args);
          // An instance handle's own calls (sendEvent, status) are calls too.
          return p === "get" ? proxyMethods(r as object, (name) => add(counts.workflowCalls, `${w}.instance.${name}`)) : r;
        };
      },
    });
  }
  const result = out as unknown as Env;
  wrapped.set(env, result);
  return result;
}

/** The workflow's step, its steps counted: distinct names once per instance, and every run of a do callback. */
export function meteredStep(env: Env, instanceId: string, step: WorkflowStep): WorkflowStep {
  if (env.METER !== "true") return step;
  const seen = (name: string) => {
    const key = `${instanceId}\u0000${name}`;
    if (!seenSteps.has(key)) {
      seenSteps.add(key);
      counts.steps++;
    }
  };
  return new Proxy(step, {
    get(t, p) {
      const v = Reflect.get(t, p, t) as (...a: unknown[]) => Promise<unknown>;
      if (p === "do")
        return (name: string, ...rest: unknown[]) => {
          seen(name);
          const fn = rest.pop() as () => Promise<unknown>;
          return Reflect.apply(v, t, [
            name,
            ...rest,
            () => {
              counts.stepRuns++;
              return fn();
            },
          ]);
        };
      if (p === "waitForEvent" || p === "sleep" || p === "sleepUntil")
        return (name: string, ...rest: unknown[]) => {
          seen(name);
          return Reflect.apply(v, t, [name, ...rest]);
        };
      return typeof v === "function" ? (...a: unknown[]) => Reflect.apply(v, t, a) : v;
    },
  });
}

/** The tables that hold a shoot's rows: what D1 keeps per shoot is their bytes ÷ shoots. */
const SHOOT_TABLES = ["shoots", "events", "jobs", "assets", "checkpoints", "packs", "batch_rows"] as const;

/**
 * Bytes of every column of the shoots' tables (a full read: for bench:scale at its end only), the
 * shoots there are, and how many of the ended ones are not compacted yet.
 */
export async function d1Bytes(db: D1Database): Promise<NonNullable<MeterAnswer["d1Bytes"]>> {
  const byTable: Record<string, number> = {};
  for (const t of SHOOT_TABLES) {
    const cols = (await db.prepare(`SELECT name FROM pragma_table_info('${t}')`).all<{ name: string }>()).results.map((c) => c.name);
    const expr = cols.map((c) => `coalesce(length(CAST("${c}" AS BLOB)), 0)`).join(" + ");
    byTable[t] = (await db.prepare(`SELECT coalesce(sum(${expr}), 0) AS n FROM ${t}`).first<{ n: number }>())?.n ?? 0;
  }
  const s = await db
    .prepare(`SELECT count(*) AS shoots, sum(compacted_at IS NULL AND completed_at IS NOT NULL) AS uncompacted FROM shoots`)
    .first<{ shoots: number; uncompacted: number | null }>();
  const shoots = s?.shoots ?? 0;
  const total = Object.values(byTable).reduce((a, b) => a + b, 0);
  const perShoot = (n: number) => (shoots ? Math.round(n / shoots) : 0);
  return {
    total,
    shoots,
    perShoot: perShoot(total),
    perShootByTable: Object.fromEntries(Object.entries(byTable).map(([t, n]) => [t, perShoot(n)])),
    uncompacted: s?.uncompacted ?? 0,
  };
}

export function noteDelivered(queue: string, messages: number) {
  add(counts.queueDelivered, queue, messages);
}

/** An object whose every method call is reported (name and arguments) before it runs. */
function proxyMethods<T extends object>(target: T, onCall: (name: string, args: unknown[]) => void): T {
  return new Proxy(target, {
    get(t, p) {
      const v = Reflect.get(t, p, t);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        onCall(String(p), args);
        // Reflect.apply: an RPC stub's method would take `.apply` for a remote method name.
        return Reflect.apply(v as (...a: unknown[]) => unknown, t, args);
      };
    },
  });
}

type Meta = { rows_read?: number; rows_written?: number };
const noteMeta = (meta: Meta | undefined) => {
  counts.d1RowsRead += meta?.rows_read ?? 0;
  counts.d1RowsWritten += meta?.rows_written ?? 0;
};

/** Each counted statement's original, for batch(), which takes D1's own statements. */
const originals = new WeakMap<object, D1PreparedStatement>();

function meterStatement(s: D1PreparedStatement): D1PreparedStatement {
  const proxy = new Proxy(s, {
    get(t, p) {
      const v = Reflect.get(t, p, t);
      if (p === "bind") return (...a: unknown[]) => meterStatement(t.bind(...a));
      if (p === "all" || p === "run")
        return async () => {
          counts.d1Statements++;
          const r = (await (v as () => Promise<D1Result>).call(t)) as D1Result;
          noteMeta(r.meta as Meta);
          return r;
        };
      if (p === "first" || p === "raw")
        return async (...a: unknown[]) => {
          counts.d1Statements++;
          const r = await Reflect.apply(v as (...x: unknown[]) => Promise<unknown>, t, a);
          // No meta here: count the rows returned (with every query indexed, close to the rows read).
          counts.d1RowsRead += Array.isArray(r) ? r.length : r == null ? 0 : 1;
          return r;
        };
      return typeof v === "function" ? (...a: unknown[]) => Reflect.apply(v, t, a) : v;
    },
  });
  originals.set(proxy, s);
  return proxy;
}

function meterD1(db: D1Database): D1Database {
  return new Proxy(db, {
    get(t, p) {
      const v = Reflect.get(t, p, t);
      if (p === "prepare") return (q: string) => meterStatement(t.prepare(q));
      if (p === "batch")
        return async (stmts: D1PreparedStatement[]) => {
          counts.d1Statements += stmts.length;
          const rs = await t.batch(stmts.map((x) => originals.get(x) ?? x));
          for (const r of rs) noteMeta(r.meta as Meta);
          return rs;
        };
      return typeof v === "function" ? (...a: unknown[]) => Reflect.apply(v, t, a) : v;
    },
  });
}
