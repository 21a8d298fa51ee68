// The provider clients in src/providers are plain fetch + WebCrypto code, and the contract tests
// run them in Node against the simulator. These are the workerd-only names they use as types.
type CryptoKey = import("node:crypto").webcrypto.CryptoKey;
/** The Worker's bindings as those clients read them: string vars (see wrangler.jsonc). */
interface Env {
  [name: string]: string;
}
