/**
 * `npm start`: the whole product on this machine, offline. Starts the provider simulator, two media
 * service processes (the container pool's stand-in) and `wrangler dev`, applies migrations, creates a local account and API key, and prints
 * the URL and the key. Ctrl-C stops all of it. With real keys in .dev.vars the simulator is skipped.
 */
import path from "node:path";
import { hasRealKeys, ROOT, Stack, type ProcessName } from "./stack.ts";

const simulate = !hasRealKeys();
const stack = new Stack({
  stateDir: path.join(ROOT, ".atelier/dev"),
  ports: { worker: Number(process.env.PORT ?? 8787), media: 8788, media2: 8789, sim: 8790 },
  simulate,
  log: (name: ProcessName, line) => {
    // wrangler dev tries to reach workers.cloudflare.com for `request.cf`; offline that is expected noise.
    const offlineNoise = /workers\.cloudflare\.com|Request\.cf/.test(line);
    if (process.env.ATELIER_VERBOSE || (/error|warn|fail/i.test(line) && !offlineNoise)) console.log(`[${name}] ${line}`);
  },
});

let stopping = false;
async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log("\nStopping Atelier…");
  await stack.stop();
  process.exit(code);
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());

try {
  console.log("Preparing local state (migrations, local account)…");
  const id = stack.prepare();
  console.log(`Starting ${simulate ? "the provider simulator, " : ""}the media services and wrangler dev…`);
  await stack.start(simulate ? ["sim", "media", "worker"] : ["media", "worker"]);
  const lines = [
    "",
    "Atelier is running.",
    `  URL:      ${stack.url}`,
    // The key rides in the fragment (never sent to the server); the page keeps it in sessionStorage.
    `  Open:     ${stack.url}/#key=${encodeURIComponent(id.apiKey)}   (signs the local account in)`,
    `  API key:  ${id.apiKey}`,
    `  Providers: ${simulate ? `simulated at ${stack.simUrl} (no keys, no network)` : "real (keys from .dev.vars)"}`,
    "",
    "Try it:   npm run demo            (drives one shoot through the API)",
    `          curl -H "Authorization: Bearer ${id.apiKey}" ${stack.url}/api/shoots`,
    "Stop:     Ctrl-C",
  ];
  console.log(lines.join("\n"));
} catch (err) {
  console.error(String(err instanceof Error ? err.message : err));
  await shutdown(1);
}
