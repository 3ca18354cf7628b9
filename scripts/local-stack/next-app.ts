/**
 * Starts the Next.js app (`next dev` or, after a build, `next start`) on a free port with the given env, waits
 * until /api/health answers, and stops it — with its worker processes — on stop(), exit, SIGINT and SIGTERM.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./index";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface NextApp {
  url: string;
  /** The app's JSON log lines (stdout lines that start with `{`), as they arrive. */
  jsonLines: string[];
  stop(): void;
  /** Sends a signal to the app and its workers (SIGKILL: the platform killing a function mid-run). */
  kill(signal: NodeJS.Signals): void;
}

export async function startNextApp(mode: "dev" | "start", env: Record<string, string>): Promise<NextApp> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(root, "node_modules/next/dist/bin/next"), mode, "--port", String(port), "--hostname", "127.0.0.1"],
    {
      cwd: root,
      detached: true, // its own process group, so stop() reaches the workers too
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
    },
  );
  const jsonLines: string[] = [];
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    jsonLines.push(...lines.filter((l) => l.startsWith("{")));
  });
  const kill = (signal: NodeJS.Signals) => {
    if (!child.pid || child.exitCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = () => kill("SIGTERM");
  process.on("exit", stop);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 120_000;
  while (
    !(await fetch(`${url}/api/health`)
      .then((r) => r.ok)
      .catch(() => false))
  ) {
    if (Date.now() > until || child.exitCode !== null) {
      stop();
      throw new Error(`the app did not start (next ${mode}${mode === "start" ? ": did `npm run build` run?" : ""})`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { url, jsonLines, stop, kill };
}
