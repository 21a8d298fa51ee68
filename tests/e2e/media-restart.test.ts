/**
 * The media service killed mid-job while the Worker keeps running: the queue consumer's call fails,
 * the message is retried, and the restarted service completes the job. "media" kills both local
 * processes, so there is no instance to fail over to (tests/e2e/media-pool.test.ts kills one). The
 * media wait timeout is set far out so neither the workflow nor the watchdog re-dispatches: only the
 * queue's retry can help.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Shoot } from "../../src/api/types.ts";
import { client, startTestStack, until } from "./helpers.ts";

describe("the media service killed mid-job", () => {
  let env: Awaited<ReturnType<typeof startTestStack>>;
  beforeAll(async () => {
    env = await startTestStack("media-restart", 18900, { MEDIA_JOB_TIMEOUT: "30 minutes" }, { SIM_CLIP_SECONDS: "3" });
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  it("is retried by the queue and the job completes once", async () => {
    const api = client(env.stack);
    const form = new FormData();
    const png = await sharp({ create: { width: 480, height: 640, channels: 3, background: { r: 90, g: 40, b: 30 } } })
      .png()
      .toBuffer();
    form.append("files", new Blob([new Uint8Array(png)], { type: "image/png" }), "ref.png");
    const up = await fetch(`${env.stack.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${env.stack.identity.apiKey}` }, body: form });
    const refs = ((await up.json()) as { uploads: { id: string }[] }).uploads.map((u) => u.id);
    const { body } = await api<{ id: string }>("POST", "/api/shoots", { brief: "warm intimate portrait", references: refs, review: ["reel"] });
    const get = async () => (await api<Shoot>("GET", `/api/shoots/${body.id}`)).body;

    // The stitch is dispatched once the earlier stages approve themselves; kill the service under it.
    await until("the stitch job", async () => (await get()).jobs.some((j) => j.model === "stitch"), 300_000, 100);
    await new Promise((r) => setTimeout(r, 1500)); // let the consumer's call reach the service
    expect((await get()).jobs.find((j) => j.model === "stitch")?.status, "the stitch must still be running when killed").toBe("submitted");
    await env.stack.kill("media", "SIGKILL");
    await env.stack.start(["media"]);

    const atReel = await until(
      "the reel checkpoint",
      async () => {
        const s = await get();
        if (s.status === "failed") throw new Error(`shoot failed: ${s.error}`);
        return s.checkpoint?.stage === "reel" ? s : null;
      },
      300_000,
    );
    const stitch = atReel.jobs.filter((j) => j.model === "stitch");
    expect(stitch).toHaveLength(1);
    expect(stitch[0]).toMatchObject({ status: "succeeded", dispatches: 1 });
    expect(atReel.assets.filter((a) => a.kind === "reel")).toHaveLength(1);
    expect(atReel.assets.filter((a) => a.kind === "poster")).toHaveLength(1);
  });
});
