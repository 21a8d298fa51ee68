/**
 * There is no Docker engine on the development machines, so these checks guard what the image
 * relies on: the pinned runtime dependencies, the imports they must cover, and that the service
 * boots exactly as the Dockerfile's CMD starts it (Node type stripping, no tsx).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers.ts";

const root = path.resolve(import.meta.dirname, "../../..");
const read = (p: string) => readFileSync(path.join(root, p), "utf8");
const sources = [
  ...readdirSync(path.join(root, "container"))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `container/${f}`),
  ...readdirSync(path.join(root, "src/domain"))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `src/domain/${f}`),
];

describe("media image", () => {
  it("pins the runtime dependencies at the versions the repo is tested with", () => {
    const image = JSON.parse(read("container/package.json")) as { dependencies: Record<string, string> };
    const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { version: string }> };
    const rootPkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    for (const [name, version] of Object.entries(image.dependencies)) {
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
      expect(rootPkg.dependencies[name], `${name} is a production dependency of the repo`).toBeDefined();
    }
  });

  it("ships every package the service imports, and only relative .ts imports otherwise", () => {
    const image = JSON.parse(read("container/package.json")) as { dependencies: Record<string, string> };
    const seen = new Set<string>();
    for (const file of sources) {
      for (const [, spec] of read(file).matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)) {
        if (spec!.startsWith("node:")) continue;
        if (spec!.startsWith(".")) {
          // Node's type stripping resolves files literally: the extension must be there.
          expect(spec, `${file} imports ${spec}`).toMatch(/\.ts$/);
          continue;
        }
        const pkg = spec!.startsWith("@") ? spec!.split("/").slice(0, 2).join("/") : spec!.split("/")[0]!;
        expect(image.dependencies[pkg], `${file} imports ${spec}`).toBeDefined();
        seen.add(pkg);
      }
    }
    expect([...seen].sort()).toEqual(["@hono/node-server", "hono", "sharp", "zod"]);
  });

  it("builds from Debian's Node 22 with FFmpeg, runs as non-root on 8080 with a health check", () => {
    const docker = read("Dockerfile");
    expect(docker).toMatch(/^FROM node:22-bookworm-slim$/m);
    expect(docker).toMatch(/apt-get install -y --no-install-recommends ffmpeg/);
    expect(docker).toMatch(/^USER node$/m);
    expect(docker).toMatch(/^EXPOSE 8080$/m);
    expect(docker).toMatch(/ENV MEDIA_PORT=8080 MEDIA_HOST=0\.0\.0\.0/);
    expect(docker).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    expect(docker).toMatch(/^COPY container\/ \.\/container\/$/m);
    expect(docker).toMatch(/^COPY src\/domain\/ \.\/src\/domain\/$/m);
  });

  it("boots with the Dockerfile's command and answers /health", async () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(read("Dockerfile"))![1]!) as string[];
    expect(cmd[0]).toBe("node");
    const child = spawn(process.execPath, cmd.slice(1), {
      cwd: root,
      env: { ...process.env, MEDIA_PORT: "0", MEDIA_HOST: "127.0.0.1", MEDIA_STATE_DIR: tempDir("image-state") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let output = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line within 20 s: ${output}`)), 20_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const m = /listening on (http:\/\/[^\s]+)/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("exit", (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
