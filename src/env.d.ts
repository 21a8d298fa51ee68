// Secrets are not in wrangler.jsonc, so `wrangler types` cannot see them; declared here.
interface Env {
  SIGNING_SECRET: string;
  FAL_KEY?: string;
  KLING_ACCESS_KEY?: string;
  KLING_SECRET_KEY?: string;
  ANTHROPIC_API_KEY?: string;
}
