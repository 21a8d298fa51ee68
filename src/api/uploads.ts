/**
 * Reference uploads. Every file is checked (type by its bytes, completeness, declared pixel count,
 * hidden markup: storage/image-check.ts) before anything is stored, so one bad file rejects the
 * request and nothing is created half-way. What is stored has its metadata (EXIF/GPS) stripped.
 */
import { $, createRoute } from "@hono/zod-openapi";
import { recordAsset } from "../db/assets.ts";
import { db } from "../db/client.ts";
import { newId } from "../lib/crypto.ts";
import { putBytes, uploadKey } from "../storage/r2.ts";
import { checkImage } from "../storage/image-check.ts";
import { assetUrl } from "../storage/urls.ts";
import { requireApiKey } from "./auth.ts";
import { router } from "./openapi.ts";
import { badRequest, Problem, type FieldError } from "./problem.ts";
import * as S from "./schemas.ts";

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const MAX_FILES = 8;
/** The whole multipart body: eight full-size files and their part headers. */
export const MAX_UPLOAD_BODY_BYTES = MAX_FILES * MAX_UPLOAD_BYTES + 256 * 1024;

const uploadRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "uploadReferences",
  summary: "Upload reference images",
  description: `PNG, JPEG or WebP, at least 64×64, at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB each, ${MAX_FILES} per request. One bad file rejects the request and nothing is stored.`,
  tags: ["uploads"],
  security: S.bearer,
  request: {
    body: {
      required: true,
      // A plain schema, not zod: the handler checks each file by its bytes, naming `files[i]`.
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["files"],
            properties: { files: { type: "array", items: { type: "string", contentMediaType: "application/octet-stream" }, maxItems: MAX_FILES } },
          },
        },
      },
    },
  },
  responses: { 201: S.json(S.UploadList, "Stored"), ...S.problems(400, 401, 415) },
});

export const uploads = $(router().use(requireApiKey)).openapi(uploadRoute, async (c) => {
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) {
    throw new Problem(415, "Unsupported media type", "send multipart/form-data with one or more image files in the field `files`");
  }
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch {
    throw badRequest([{ field: "body", message: "is not valid multipart/form-data" }]);
  }
  const files = form.getAll("files");
  if (files.length === 0) throw badRequest([{ field: "files", message: "at least one image file is required" }]);
  if (files.length > MAX_FILES) throw badRequest([{ field: "files", message: `at most ${MAX_FILES} files per request` }]);

  const errors: FieldError[] = [];
  const checked: { bytes: Uint8Array; name: string; mime: string; stripped: string[] }[] = [];
  for (const [i, f] of files.entries()) {
    const field = `files[${i}]`;
    if (typeof f === "string") {
      errors.push({ field, message: "must be a file, not text" });
      continue;
    }
    if (f.size === 0) {
      errors.push({ field, message: "is empty" });
      continue;
    }
    if (f.size > MAX_UPLOAD_BYTES) {
      errors.push({ field, message: `is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB` });
      continue;
    }
    const check = checkImage(new Uint8Array(await f.arrayBuffer()));
    if (!check.ok) {
      errors.push({ field, message: check.reason });
      continue;
    }
    checked.push({ bytes: check.bytes, name: f.name, mime: check.mime, stripped: check.stripped });
  }
  if (errors.length) throw badRequest(errors);

  const accountId = c.get("accountId");
  const d = db(c.env.DB);
  const origin = new URL(c.req.url).origin;
  const out = [];
  for (const f of checked) {
    const id = newId("up");
    const stored = await putBytes(c.env.BUCKET, uploadKey(accountId, id, f.mime), f.bytes);
    const row = await recordAsset(d, {
      accountId,
      shootId: null,
      kind: "reference",
      stored,
      provenance: { filename: f.name.slice(0, 200), strippedMetadata: f.stripped },
    });
    out.push({ id: row.id, url: await assetUrl(c.env, origin, row.id), mime: row.mime, bytes: row.bytes, width: row.width, height: row.height });
  }
  return c.json({ uploads: out }, 201);
});
