/**
 * The layering rules (`npm run deps`). Each rule says which part of the repository may not import
 * which; type-only imports count like any other (tsPreCompilationDeps), so a cycle through
 * `import type` is still a cycle.
 * @type {import("dependency-cruiser").IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles, type-only imports included: a cycle means two modules are one, or a shared part wants its own module.",
      from: {},
      to: { circular: true },
    },
    {
      name: "sim-is-the-outside-world",
      severity: "error",
      comment: "The provider simulator stands for FAL, Kling and Anthropic: it knows nothing of the product (src/) or the media service (container/).",
      from: { path: "^sim/" },
      to: { path: "^(src|container)/" },
    },
    {
      name: "domain-is-pure",
      severity: "error",
      comment: "src/domain is shared by the Worker, the media service and the UI: it imports nothing else of src/.",
      from: { path: "^src/domain/" },
      to: { path: "^src/", pathNot: "^src/domain/" },
    },
    {
      name: "limits-below-workflow",
      severity: "error",
      comment: "Provider caps (src/limits) are used by the workflow, never the other way round.",
      from: { path: "^src/limits/" },
      to: { path: "^src/workflow/" },
    },
    {
      name: "scripts-not-tests",
      severity: "error",
      comment: "Scripts ship with the product; what tests and scripts share belongs in common/ (or the script).",
      from: { path: "^scripts/" },
      to: { path: "^tests/" },
    },
    {
      name: "web-self-contained",
      severity: "error",
      comment:
        "The UI knows the backend only through the API: of src/ it imports the generated OpenAPI types alone. Outside web/ " +
        "it may also import common/easing.ts, a pure library (CurvePlot draws the same easing the stitcher runs).",
      from: { path: "^web/" },
      to: { dependencyTypes: ["local"], path: "^(?!web/)", pathNot: ["^src/api/openapi\\.gen\\.ts$", "^common/easing\\.ts$"] },
    },
    {
      name: "cli-self-contained",
      severity: "error",
      comment: "The command line is a client like any other: of src/ it imports the generated OpenAPI types (and their names in src/api/types.ts) alone.",
      from: { path: "^cli/" },
      to: { dependencyTypes: ["local"], path: "^(?!cli/)", pathNot: ["^src/api/openapi\\.gen\\.ts$", "^src/api/types\\.ts$"] },
    },
    {
      name: "container-only-domain",
      severity: "error",
      comment: "The media image copies container/, common/ and src/domain/ only: nothing else of src/ may be imported.",
      from: { path: "^container/" },
      to: { path: "^src/", pathNot: "^src/domain/" },
    },
    {
      name: "common-is-a-leaf",
      severity: "error",
      comment: "common/ holds tools shared by the media service, the simulator, scripts and tests: it imports none of them.",
      from: { path: "^common/" },
      to: { path: "^(src|container|sim|tests|scripts|web)/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that resolves to nothing is a typo or a missing dependency.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|\\.atelier)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.base.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".d.ts", ".js", ".mjs", ".cjs", ".json"],
    },
    // workerd's built-in modules are not files.
    builtInModules: { add: ["cloudflare:workers", "cloudflare:workflows", "cloudflare:test", "cloudflare:email", "cloudflare:sockets"] },
  },
};
