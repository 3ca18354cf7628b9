// A small rule set, run by `npm test`: promises are awaited or handled, the module boundaries hold (see also
// lib/boundaries.test.ts, which follows imports through other modules), and only lib/env.ts reads process.env.
import tseslint from "typescript-eslint";

const supabaseOnlyInAdapters = {
  name: "@supabase/supabase-js",
  message: "Only lib/supabase/* talks to supabase-js; use the ports (lib/ports.ts).",
};

export default tseslint.config(
  { ignores: ["node_modules/**", ".next/**", "next-env.d.ts", "coverage/**", "lib/dist/**", ".pack/**", "test/adoption/host-app/**", "test/adoption/host-app-latest/**"] },
  {
    files: ["**/*.ts", "**/*.tsx", "**/*.mts"],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/await-thenable": "error",
      "no-restricted-imports": ["error", { paths: [supabaseOnlyInAdapters] }],
    },
  },
  {
    files: ["lib/**/*.ts", "app/**/*.ts", "app/**/*.tsx"],
    ignores: ["lib/env.ts", "**/*.test.ts"],
    rules: {
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Only lib/env.ts reads process.env." }],
    },
  },
  {
    files: ["lib/{jobs,erasure,archive,files,alerting,checkins}/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [supabaseOnlyInAdapters, { name: "@vercel/functions", message: "Jobs stay free of the platform: the route passes the deadline in." }],
          patterns: [
            { group: ["**/supabase", "**/supabase/*"], message: "Jobs use the ports, not the adapters." },
            { group: ["**/http/*", "next", "next/*"], message: "Jobs know nothing of HTTP." },
          ],
        },
      ],
    },
  },
  {
    files: ["lib/http/with-bearer.ts"],
    rules: { "no-restricted-imports": ["error", { paths: [supabaseOnlyInAdapters], patterns: [{ group: ["**/jobs/*"], message: "The guard knows nothing of jobs." }] }] },
  },
  {
    files: ["lib/supabase/**/*.ts", "scripts/**/*.ts", "test/**/*.ts", "**/*.test.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
