/** The Hono environment of every API route and middleware: the Worker's bindings and what auth sets. */
export type AppEnv = { Bindings: Env; Variables: { accountId: string; actor: string } };
