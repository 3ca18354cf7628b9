/**
 * A Postgres of its own for one command, removed when the command ends: the local stack's server (same binaries,
 * same major, EXPORT_OPS_PG_MAJOR included; as root it runs as the postgres user from the stack's cached copy),
 * without PostgREST, Storage or migrations. Its folder is named like the stack's, so a later stack start reaps what
 * a killed command left behind.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, postgresMajor } from "../local-stack";
import { installedPostgresPackage, preparePostgres, startPostgres } from "../local-stack/postgres";

/** Runs `use` with a superuser connection string to a fresh cluster, then stops the server and removes its folder. */
export async function withThrowawayPostgres<T>(use: (adminUrl: string) => Promise<T>): Promise<T> {
  const base = tmpdir();
  const runtime = preparePostgres(installedPostgresPackage(postgresMajor()), base, "set TMPDIR to a folder");
  const dir = path.join(base, `export-ops-stack-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755); // as root, the postgres user must reach its data folder
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  const password = randomBytes(16).toString("hex");
  const port = await freePort();
  try {
    const server = await startPostgres({
      runtime,
      dir,
      port,
      user: "postgres",
      password,
      initdbFlags: ["--encoding=UTF8"],
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"],
    });
    try {
      return await use(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
    } finally {
      await server.stop();
    }
  } finally {
    remove();
    process.off("exit", remove);
  }
}
