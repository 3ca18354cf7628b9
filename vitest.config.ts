import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));
/** Passing tests stay quiet: the process-wide logger writes nothing; tests that read log lines capture their own. */
const quiet = { LOG_LEVEL: "silent" };

export default defineConfig({
  resolve: {
    alias: [
      { find: /^export-ops\/next$/, replacement: `${root}lib/next/index.ts` },
      { find: /^export-ops$/, replacement: `${root}lib/index.ts` },
      { find: "@", replacement: root },
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          env: quiet,
          include: ["{app,lib,scripts}/**/*.test.ts"],
          exclude: ["**/*.integration.test.ts", "node_modules/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          env: quiet,
          include: ["test/**/*.integration.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          // One shared database: files run one after another so each can own the export tables.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // `npm run test:adoption`: a host app adopting export-ops, with its own pinned tools (test/adoption/host-app)
          name: "adoption",
          include: ["test/adoption/**/*.adoption.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          // `npm run test:browser`, after `npm run build`: Chromium against the built app. Not part of `npm test`.
          name: "browser",
          include: ["test/browser/**/*.browser.test.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
