/**
 * The media service as a Cloudflare Container, one of a pool (src/media/instances.ts). It gets no
 * secrets: jobs carry signed URLs for their inputs, outputs and answer, so the container needs only
 * its port, its scratch state and how many jobs to run at once.
 */
import { Container } from "@cloudflare/containers";

export class MediaContainer extends Container<Env> {
  defaultPort = 8080;
  sleepAfter = "5m";
  envVars = {
    MEDIA_PORT: "8080",
    MEDIA_HOST: "0.0.0.0",
    MEDIA_STATE_DIR: "/tmp/atelier-media",
    // One job per vCPU of the instance type (wrangler.jsonc: standard-3, 2 vCPU); the media consumer's max_concurrency counts on it.
    MEDIA_CONCURRENCY: "2",
  };
}
