/**
 * Checks every API response against the served OpenAPI document as it arrives: the status must be
 * one the operation documents, and a JSON body (or each Server-Sent Event's `data`) must match that
 * response's schema. A mismatch throws (or errors the event stream) with the path of the bad field.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS; its default export arrives wrapped under tsx/vitest.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as typeof addFormatsModule;

type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export class ContractViolation extends Error {}

/** Anchored matchers for the document's path templates, `{id}` standing for one segment. */
function operationFinder(doc: OpenApiDocument) {
  const templates = Object.keys(doc.paths).map((t) => ({
    template: t,
    re: new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
  }));
  return (method: string, pathname: string) => {
    const hit = templates.find((t) => t.re.test(pathname));
    const op = hit ? doc.paths[hit.template][method.toLowerCase()] : undefined;
    return hit && op ? { template: hit.template, op } : null;
  };
}

export function contractChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "openapi", components: doc.components });
  const find = operationFinder(doc);
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string, schema: Schema) => {
    let v = compiled.get(key);
    if (!v) {
      // Component references resolve against the document's components.
      const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as Schema;
      v = ajv.compile(rebased);
      compiled.set(key, v);
    }
    return v;
  };
  const fail = (what: string, v: ValidateFunction, value: unknown) =>
    new ContractViolation(`${what} does not match the document: ${ajv.errorsText(v.errors, { separator: "; " })}\n${JSON.stringify(value).slice(0, 600)}`);

  /** The operation and response a request got, or why it is not one the document allows. */
  function response(method: string, url: URL, status: number, contentType: string | null) {
    const found = find(method, url.pathname);
    if (!found) return null; // not an API operation (an asset's signed URL is one: bytes, checked below)
    const { template, op } = found;
    const spec = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
    const what = `${method} ${template} → ${status}`;
    if (!spec) throw new ContractViolation(`${what} is not a documented response (documented: ${Object.keys(op.responses).join(", ")})`);
    const media = (contentType ?? "").split(";")[0].trim().toLowerCase();
    if (!spec.content) return { what, media, schema: undefined };
    const declared = spec.content[media];
    if (!declared) throw new ContractViolation(`${what} came as ${media || "no content type"}, documented as ${Object.keys(spec.content).join(", ")}`);
    return { what, media, schema: declared.schema ? { key: `${what} ${media}`, schema: declared.schema } : undefined };
  }

  function check(what: string, schema: { key: string; schema: Schema }, value: unknown) {
    const v = validator(schema.key, schema.schema);
    if (!v(value)) throw fail(what, v, value);
  }

  /** Wraps fetch: each API response is checked before the caller sees it. */
  function wrap(inner: typeof fetch = fetch): typeof fetch {
    return async (input, init) => {
      const req = new Request(input, init);
      const res = await inner(req);
      const r = response(req.method, new URL(req.url), res.status, res.headers.get("content-type"));
      if (!r?.schema) return res;
      const schema = r.schema;
      if (r.media === "text/event-stream") return new Response(res.body!.pipeThrough(sseChecker(r.what, (v) => check(`${r.what} event`, schema, v))), res);
      const text = await res.text();
      check(r.what, schema, text ? JSON.parse(text) : null);
      return new Response(text || null, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
  }

  return { wrap, check, response };
}

/** Passes an event stream through unchanged, checking each event's JSON `data` as it goes by. */
function sseChecker(what: string, check: (value: unknown) => void): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = "";
  const flushEvents = (final: boolean) => {
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = final ? "" : blocks.pop()!;
    for (const block of blocks) {
      const data = block
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""))
        .join("\n");
      if (!data) continue; // a comment (keep-alive) or an empty block
      let value: unknown;
      try {
        value = JSON.parse(data);
      } catch {
        throw new ContractViolation(`${what}: an event's data is not JSON: ${data.slice(0, 200)}`);
      }
      check(value);
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      flushEvents(false);
      controller.enqueue(chunk);
    },
    flush() {
      buffer += decoder.decode();
      flushEvents(true);
    },
  });
}
