/**
 * The media service as a Cloudflare Container. It gets no secrets: jobs carry signed URLs for their
 * inputs and outputs, so the container needs only its port.
 */
import { Container } from "@cloudflare/containers";

export class MediaContainer extends Container<Env> {
  defaultPort = 8080;
  sleepAfter = "5m";
  envVars = { MEDIA_PORT: "8080", MEDIA_HOST: "0.0.0.0", MEDIA_STATE_DIR: "/tmp/atelier-media" };
}
