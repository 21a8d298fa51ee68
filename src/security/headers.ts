/**
 * Browser-facing protections: security headers on every Worker response, a content security policy
 * (the API answers JSON and bytes, never pages, so it allows nothing; the UI's policy is in
 * web/public/_headers, since static assets are served without running the Worker), and CORS only
 * for origins on the configured allow-list (ALLOWED_ORIGINS, comma-separated; empty: same origin only).
 */
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../api/app-env.ts";

/** The UI's policy, mirrored in web/public/_headers: own scripts only, media from this origin. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const securityHeaders = secureHeaders({
  crossOriginResourcePolicy: "same-origin",
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
  },
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  referrerPolicy: "no-referrer",
  xFrameOptions: "DENY",
  permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
});

export function allowedOrigins(env: Env): string[] {
  return String(env.ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((s) => s.trim().replace(/\/$/, ""))
    .filter(Boolean);
}

export const corsAllowList = createMiddleware<AppEnv>((c, next) =>
  cors({
    origin: (origin) => (allowedOrigins(c.env).includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["authorization", "content-type", "last-event-id", "range", "if-none-match"],
    exposeHeaders: ["retry-after", "etag", "content-range", "x-request-id"],
    maxAge: 600,
  })(c, next),
);
