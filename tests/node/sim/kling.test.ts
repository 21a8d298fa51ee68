import fs from "node:fs/promises";
import crypto from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintKlingJwt } from "../../../sim/keys.ts";
import { colourDistance, download, extractFrame, ffprobe, meanColour, startReceiver, startTestSim, tempDir, testImage } from "./helpers.ts";

type Sim = Awaited<ReturnType<typeof startTestSim>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Hand-rolled HS256 JWT with arbitrary claims, for the negative cases. */
function jwt(payload: Record<string, unknown>, secret: string): string {
  const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
  const p = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${h}.${p}.${crypto.createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`;
}

describe("Kling direct API", () => {
  let sim: Sim;
  let rx: Receiver;
  let base: string;
  const token = () => mintKlingJwt("sim-access", "sim-secret");
  const post = (body: unknown, auth = `Bearer ${token()}`) =>
    fetch(`${base}/v1/videos/image2video`, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const get = (id: string) => fetch(`${base}/v1/videos/image2video/${id}`, { headers: { authorization: `Bearer ${token()}` } });

  beforeAll(async () => {
    sim = await startTestSim();
    rx = await startReceiver();
    base = `${sim.url}/kling`;
  });
  afterAll(async () => {
    await sim?.close();
    await rx?.close();
  });

  it("rejects a missing, mis-signed, foreign or expired JWT with 401 code 1004", async () => {
    const now = Math.floor(Date.now() / 1000);
    const body = { model_name: "kling-v2-6", image: "http://127.0.0.1:9/x.png" };
    for (const auth of [
      "",
      "Bearer not.a.jwt",
      `Bearer ${mintKlingJwt("sim-access", "wrong-secret")}`,
      `Bearer ${mintKlingJwt("someone-else", "sim-secret")}`,
      `Bearer ${jwt({ iss: "sim-access", exp: now - 10, nbf: now - 100 }, "sim-secret")}`,
      `Bearer ${jwt({ iss: "sim-access", exp: now + 1800, nbf: now + 600 }, "sim-secret")}`,
    ]) {
      const res = await post(body, auth);
      expect(res.status, auth).toBe(401);
      expect(await res.json()).toMatchObject({ code: 1004 });
    }
    expect(sim.state.jobs.list().filter((j) => j.provider === "kling")).toHaveLength(0);
  });

  it("runs a task with callbacks processing → succeed, and the clip goes from start to end image", async () => {
    const startPng = await testImage(480, 320, "#d04010", "#803010", "#ffd080");
    const endPng = await testImage(480, 320, "#1040d0", "#102080", "#80d0ff");
    const start = rx.addImage("start.png", startPng);
    const externalId = `shoot-1-clip-1-${crypto.randomUUID()}`;
    const res = await post({
      model_name: "kling-v2-6",
      mode: "pro",
      duration: "5",
      image: start,
      image_tail: endPng.toString("base64"), // raw base64 is accepted too
      prompt: "slow dolly in",
      callback_url: `${rx.url}/webhooks/kling/job-1?token=t`,
      external_task_id: externalId,
    });
    expect(res.status).toBe(200);
    const created = (await res.json()) as {
      code: number;
      message: string;
      request_id: string;
      data: { task_id: string; task_status: string; task_info: { external_task_id: string } };
    };
    expect(created).toMatchObject({ code: 0, message: "SUCCEED", data: { task_status: "submitted", task_info: { external_task_id: externalId } } });
    const taskId = created.data.task_id;

    const hits = await rx.waitFor((h) => h.some((x) => x.body.includes('"succeed"') || x.body.includes('"failed"')), 30_000);
    const statuses = hits.filter((h) => h.path.startsWith("/webhooks/kling/job-1")).map((h) => (JSON.parse(h.body) as { task_status: string }).task_status);
    expect(statuses).toEqual(["processing", "succeed"]);
    expect(hits[0].headers["x-fal-webhook-signature"]).toBeUndefined(); // unsigned, like Kling

    const byId = (await (await get(taskId)).json()) as {
      code: number;
      data: { task_status: string; task_result: { videos: { id: string; url: string; duration: string }[] } };
    };
    const byExternal = (await (await get(externalId)).json()) as typeof byId;
    expect(byId.code).toBe(0);
    expect(byId.data.task_status).toBe("succeed");
    expect(byExternal.data).toEqual(byId.data);
    const video = byId.data.task_result.videos[0];
    expect(Number(video.duration)).toBeCloseTo(5, 1);

    const dir = await tempDir();
    const file = path.join(dir, "clip.mp4");
    const dl = await download(video.url, file);
    expect(dl.headers.get("content-type")).toBe("video/mp4");
    const probe = await ffprobe(file);
    expect(probe).toMatchObject({ codec_name: "h264", pix_fmt: "yuv420p", width: 480, height: 320, r_frame_rate: "24/1" });
    expect(probe.duration).toBeCloseTo(5, 1);
    expect(probe.frames).toBe(120);

    const first = await meanColour(await extractFrame(file, 0, path.join(dir, "first.png")));
    const last = await meanColour(await extractFrame(file, probe.frames - 1, path.join(dir, "last.png")));
    const s = await meanColour(startPng);
    const e = await meanColour(endPng);
    expect(colourDistance(first, s)).toBeLessThan(15);
    expect(colourDistance(last, e)).toBeLessThan(15);
    expect(colourDistance(first, e)).toBeGreaterThan(60);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("answers 1201 for a duplicate external_task_id and 404 for an unknown task", async () => {
    const image = rx.addImage("dup.png", await testImage(320, 320, "#505050", "#909090"));
    const body = { model_name: "kling-v2-6", image, external_task_id: "dup-1" };
    expect((await post(body)).status).toBe(200);
    const dup = await post(body);
    expect(dup.status).toBe(400);
    expect(await dup.json()).toMatchObject({ code: 1201, message: "external_task_id already exists" });
    expect(sim.state.jobs.list().filter((j) => j.externalId === "dup-1")).toHaveLength(1);
    expect((await get("no-such-task")).status).toBe(404);
  });

  it("refuses to create a task whose image cannot be fetched, and makes no task", async () => {
    const res = await post({ image: `${rx.url}/img/missing.png`, callback_url: `${rx.url}/webhooks/kling/job-2`, external_task_id: "job-2" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: number; message: string };
    expect(body.code).not.toBe(0);
    expect(body.message).toMatch(/image/i);
    expect(body.message).toMatch(/download/i);
    expect((await get("job-2")).status).toBe(404);
  });
});
