/**
 * How a failed FAL job is classified: a refusal (validation, content policy) is not tried again,
 * but FAL failing to download one of our own input URLs (our runtime was briefly unreachable) is.
 */
import { describe, expect, it } from "vitest";
import { falResult } from "../../src/providers/jobs.ts";

const webhook = (type: string, msg: string) => falResult("ERROR", { detail: [{ loc: ["body", "image_urls", 0], msg, type }] }, "Invalid status code: 422");

describe("FAL job failures", () => {
  it("a 422 file_download_error (our input URL was unreachable) is retryable", () => {
    const r = webhook("file_download_error", "Failed to download the file. Please check if the URL is accessible. (fetch failed)");
    expect(r).toMatchObject({ status: "failed", retryable: true });
    expect(r.status === "failed" && r.error).toContain("Failed to download the file");
  });

  it("a 422 content-policy or validation refusal is not", () => {
    expect(webhook("content_policy_violation", "flagged by a content checker")).toMatchObject({ status: "failed", retryable: false });
    expect(webhook("value_error", "This prompt needs an input image")).toMatchObject({ status: "failed", retryable: false });
  });
});
