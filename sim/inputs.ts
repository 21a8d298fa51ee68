/**
 * Fetching and decoding the images a job names (http URLs to the Worker, data: URIs, or Kling's
 * raw base64). Failures become InputError, which each provider turns into its own error shape.
 */
import sharp from "sharp";

export type InputErrorType = "file_download_error" | "image_load_error";

export class InputError extends Error {
  constructor(
    readonly type: InputErrorType,
    readonly field: string,
    readonly url: string,
    message: string,
  ) {
    super(message);
  }

  /** FAL-style validation detail (what FAL puts in `detail` and in the webhook payload). */
  falDetail() {
    const loc = ["body", ...this.field.split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p))];
    return [
      {
        loc,
        msg: this.message,
        type: this.type,
        url: `https://docs.fal.ai/errors#${this.type}`,
        input: this.url.startsWith("data:") ? "data:…" : this.url,
      },
    ];
  }
}

const FETCH_TIMEOUT_MS = 30_000;
const MAX_BYTES = 50 * 1024 * 1024;

/** Downloads one image (http(s) or data: URI). */
export async function fetchBytes(url: string, field: string, signal?: AbortSignal): Promise<Buffer> {
  if (url.startsWith("data:")) {
    const m = /^data:[^;,]*(;base64)?,(.*)$/s.exec(url);
    if (!m) throw new InputError("file_download_error", field, url, "Invalid data URI.");
    return m[1] ? Buffer.from(m[2], "base64") : Buffer.from(decodeURIComponent(m[2]), "utf8");
  }
  if (!/^https?:\/\//i.test(url)) {
    throw new InputError("file_download_error", field, url, "Unsupported URL; expected http(s) or a data URI.");
  }
  let res: Response;
  try {
    const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: "follow" });
  } catch (err) {
    throw new InputError("file_download_error", field, url, `Failed to download the file. Please check if the URL is accessible. (${(err as Error).message})`);
  }
  if (!res.ok) {
    await res.arrayBuffer().catch(() => undefined);
    throw new InputError("file_download_error", field, url, `Failed to download the file. Please check if the URL is accessible. (HTTP ${res.status})`);
  }
  let buf: Buffer;
  try {
    buf = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    // The connection dropped mid-body (the server went away): to FAL that is a failed download too.
    throw new InputError("file_download_error", field, url, `Failed to download the file. Please check if the URL is accessible. (${(err as Error).message})`);
  }
  if (buf.byteLength > MAX_BYTES) throw new InputError("file_download_error", field, url, "File is too large.");
  return buf;
}

/** Checks the bytes decode as an image; returns a PNG-normalised copy plus its size. */
export async function decodeImage(buf: Buffer, field: string, url: string): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    // rotate() applies EXIF orientation, so portrait phone photos stay portrait.
    const { data, info } = await sharp(buf, { failOn: "error" }).rotate().png({ compressionLevel: 1 }).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch {
    throw new InputError(
      "image_load_error",
      field,
      url,
      "Failed to load the image. Please ensure the image file is not corrupted and is in a supported format.",
    );
  }
}

export async function loadImage(url: string, field: string, signal?: AbortSignal) {
  return decodeImage(await fetchBytes(url, field, signal), field, url);
}

/** Kling's `image`: an http URL or raw base64 (no data: prefix). */
export async function loadKlingImage(value: string, field: string, signal?: AbortSignal) {
  if (/^https?:\/\//i.test(value) || value.startsWith("data:")) return loadImage(value, field, signal);
  const buf = Buffer.from(value.replace(/\s+/g, ""), "base64");
  return decodeImage(buf, field, "base64");
}
