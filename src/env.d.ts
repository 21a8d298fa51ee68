// Secrets are not in wrangler.jsonc, so `wrangler types` cannot see them; declared here, on both the
// global Env and Cloudflare.Env (the type of `env` from "cloudflare:workers", which tests import).
interface AtelierSecrets {
  SIGNING_SECRET: string;
  FAL_KEY?: string;
  KLING_ACCESS_KEY?: string;
  KLING_SECRET_KEY?: string;
  ANTHROPIC_API_KEY?: string;
}
interface Env extends AtelierSecrets {}
declare namespace Cloudflare {
  interface Env extends AtelierSecrets {}
}
