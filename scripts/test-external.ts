/**
 * The integration suite in external mode, as against a real Supabase project: starts the local stack without
 * its test hooks (no `/__stack/*` endpoints, like a real project), points TEST_SUPABASE_* at it, and runs
 * `vitest --project integration`. Tests that need the stand-in's fault injection or request record are reported
 * as not applicable, one line each. Prints `external mode: N passed, N failed, N not applicable`; exits non-zero
 * on any failure. CI runs it; `npm run test:external`.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startStack } from "./local-stack";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stack = await startStack({ quiet: true, hostFixture: true, control: false });
let code = 1;
try {
  const report = path.join(root, ".test-external.json");
  code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, "node_modules/vitest/vitest.mjs"),
        "run",
        "--project",
        "integration",
        "--reporter=verbose",
        "--reporter=json",
        `--outputFile=${report}`,
      ],
      {
        cwd: root,
        stdio: "inherit",
        env: {
          ...process.env,
          TEST_SUPABASE_URL: stack.env.SUPABASE_URL,
          TEST_SUPABASE_ANON_KEY: stack.env.SUPABASE_ANON_KEY,
          TEST_SUPABASE_SERVICE_ROLE_KEY: stack.env.SUPABASE_SERVICE_ROLE_KEY,
          TEST_SUPABASE_JWT_SECRET: stack.env.SUPABASE_JWT_SECRET,
          TEST_DATABASE_URL: stack.env.DATABASE_URL,
        },
      },
    );
    child.on("exit", (c) => resolve(c ?? 1));
  });
  const r = JSON.parse(readFileSync(report, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTotalTests: number;
  };
  console.log(`external mode: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} not applicable`);
  if (r.numFailedTests > 0 || r.numTotalTests === 0) code = code || 1;
} finally {
  await stack.stop();
}
process.exit(code);
