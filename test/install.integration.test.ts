/**
 * export-ops is installed into a Supabase project that already holds an app. Each test builds a fresh database
 * the way such a project looks (Supabase's starting point plus test/fixtures/host-app.sql: RLS with a helper
 * function, RPCs, tables named `cron_runs` and `alert_state`, a function in a second schema) and checks that
 * installing, upgrading and uninstalling export-ops leaves the host's objects, privileges and behaviour as they
 * were — by comparing snapshots of the catalog and by running the host's queries as its users.
 */
import { readFileSync } from "node:fs";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { postgresMajor } from "../scripts/local-stack";
import { applySqlFile, migrations, UNINSTALL_SQL } from "../scripts/local-stack/migrate";
import {
  ADA,
  catalogSnapshot,
  freshDatabase,
  hostBehaviour,
  hostPart,
  isExportOps,
  type CatalogSnapshot,
  type HostDatabase,
} from "./helpers/host-database";
import { closeSql, itStandIn, sql, stack, userHeaders } from "./helpers/stack";

let db: HostDatabase | undefined;
afterEach(async () => {
  await db?.drop();
  db = undefined;
});
afterAll(closeSql);

async function installAll(client: HostDatabase["client"]): Promise<void> {
  for (const m of migrations()) await applySqlFile(client, m.name, m.sql);
}

const uninstall = (client: HostDatabase["client"]) => applySqlFile(client, "uninstall", readFileSync(UNINSTALL_SQL, "utf8"));

describe("installing into a host's project", () => {
  itStandIn("the Postgres major chosen")(
    "runs on the Postgres major the local stack was asked for (17, or 15 with EXPORT_OPS_PG_MAJOR=15)",
    async () => {
      const { rows } = await sql().query("select current_setting('server_version_num')::int / 10000 as major");
      expect(rows[0].major).toBe(postgresMajor());
    },
  );

  it("leaves the host's objects, privileges and behaviour exactly as they were, after every migration", async () => {
    db = await freshDatabase();
    const before = await catalogSnapshot(db.client);
    const behaviour = await hostBehaviour(db.client);
    // the probes do see the host's data and its refusals: they would notice a lost grant
    expect(JSON.stringify(behaviour)).toContain('"ada-1"');
    expect(JSON.stringify(behaviour)).toContain('"error":"42501"');

    for (const m of migrations()) {
      await applySqlFile(db.client, m.name, m.sql);
      expect({ migration: m.name, snapshot: hostPart(await catalogSnapshot(db.client)) }).toEqual({ migration: m.name, snapshot: before });
      expect({ migration: m.name, behaviour: await hostBehaviour(db.client) }).toEqual({ migration: m.name, behaviour });
    }
  });

  it("creates only names of its own, and no default privileges", async () => {
    db = await freshDatabase();
    const before = await catalogSnapshot(db.client);
    await installAll(db.client);
    const after = await catalogSnapshot(db.client);

    const added = (key: "relations" | "functions" | "policies" | "types") =>
      after[key].map((o) => o.name).filter((name) => !before[key].some((o) => o.name === name));
    for (const key of ["relations", "functions", "policies", "types"] as const) {
      expect(added(key).length).toBeGreaterThan(0);
      expect(added(key).filter((name) => !isExportOps(name))).toEqual([]);
    }
    expect(after.default_acls).toEqual(before.default_acls);
    expect(after.schemas).toEqual(before.schemas);
    // the host's own tables with generic names are still its own
    const { rows } = await db.client.query("select job from public.cron_runs order by id");
    expect(rows).toEqual([{ job: "nightly-digest" }, { job: "nightly-digest" }]);
  });

  it("grants anon, authenticated and PUBLIC nothing of its own objects but a signed-in user's reads of the two tables", async () => {
    db = await freshDatabase();
    await installAll(db.client);
    const grants = await grantsToAppRoles(db.client);
    // the probe sees what Supabase's default privileges give: a table created now holds their grants
    await db.client.query("create table public.export_ops_probe_after (id int)");
    expect(await grantsToAppRoles(db.client)).toContainEqual({
      object: "table public.export_ops_probe_after",
      grantee: "anon",
      privilege: "SELECT",
    });

    // the only ones given on purpose: RLS shows a signed-in user their own rows of these two (and only those)
    expect(grants.filter((g) => !g.object.startsWith("row type "))).toEqual([
      { object: "table public.export_logs", grantee: "authenticated", privilege: "SELECT" },
      { object: "table public.export_metrics", grantee: "authenticated", privilege: "SELECT" },
    ]);
    // and what Postgres gives every type: a table's row type may be named by anyone (it reads no row of the table)
    const rowTypes = grants.filter((g) => g.object.startsWith("row type "));
    expect(rowTypes).toContainEqual({ object: "row type public.export_ops_runs", grantee: "PUBLIC", privilege: "USAGE" });
    expect(rowTypes.filter((g) => g.grantee !== "PUBLIC" || g.privilege !== "USAGE")).toEqual([]);
  });

  it("gives a function the host creates after the install Supabase's default privileges", async () => {
    db = await freshDatabase();
    await installAll(db.client);
    await db.client.query("create function public.host_added_later() returns int language sql as $$ select 7 $$");
    const { rows } = await db.client.query(
      `select r as role, has_function_privilege(r, 'public.host_added_later()', 'execute') as can
       from unnest(array['anon', 'authenticated', 'service_role']) r`,
    );
    expect(rows).toEqual([
      { role: "anon", can: true },
      { role: "authenticated", can: true },
      { role: "service_role", can: true },
    ]);
  });

  it("records only the buckets it created, and leaves the host's private exports bucket as it was", async () => {
    db = await freshDatabase();
    await installAll(db.client);
    const { rows } = await db.client.query("select created_buckets from public.export_ops_installation");
    expect(rows).toEqual([{ created_buckets: ["export-archive"] }]);
  });
});

describe("through the real PostgREST of the local stack (host fixture installed before the migrations)", () => {
  it("serves a function created in public after the install to a signed-in user", async () => {
    await sql().query("create function public.host_feature_flag() returns text language sql stable as $$ select 'on' $$");
    try {
      await sql().query("notify pgrst, 'reload schema'");
      // PostgREST reloads its schema cache on the notification in its own time: asked until it knows the function
      const res = await vi.waitFor(
        async () => {
          const answer = await fetch(`${stack.SUPABASE_URL}/rest/v1/rpc/host_feature_flag`, {
            method: "POST",
            headers: { ...userHeaders(ADA), "content-type": "application/json" },
            body: "{}",
          });
          expect(answer.status).not.toBe(404);
          return answer;
        },
        { timeout: 60_000, interval: 100 },
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toBe("on");
    } finally {
      await sql().query("drop function public.host_feature_flag()");
    }
  });

  itStandIn("the host app fixture")("still serves the host's RPC and RLS to its users", async () => {
    const res = await fetch(`${stack.SUPABASE_URL}/rest/v1/rpc/my_project_count`, {
      method: "POST",
      headers: { ...userHeaders(ADA), "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe(2);
  });
});

describe("the project's default privileges", () => {
  it("stay as the project had them: uninstalled and installed again over whatever Supabase and its Storage set up", async () => {
    // on the stack's own database, in a transaction that is rolled back: the project is left as it was
    const client = await sql().connect();
    try {
      await client.query("begin");
      // a project's Storage server gives its own schema default privileges (the stand-in has none): as it does
      if (stack.standIn) await client.query(STORAGE_DEFAULT_PRIVILEGES);
      const before = await defaultPrivileges(client);
      // on the local stack, the Storage defaults just given are there to be kept; a project elsewhere has its own
      if (stack.standIn) expect(before.map((d) => d.schema)).toEqual(expect.arrayContaining(["public", "storage"]));
      await client.query(UNINSTALL_IN_TRANSACTION());
      expect({ after: "uninstall", privileges: await defaultPrivileges(client) }).toEqual({ after: "uninstall", privileges: before });
      for (const m of migrations()) {
        await client.query(m.sql);
        expect({ after: m.name, privileges: await defaultPrivileges(client) }).toEqual({ after: m.name, privileges: before });
      }
      // (a default privilege an earlier install had created would be in `before` too: the tests above compare with a
      // fresh project export-ops never touched, after every migration)
    } finally {
      await client.query("rollback");
      client.release();
    }
  });
});

describe("upgrading", () => {
  it("keeps the host app's export data through every later migration", async () => {
    db = await freshDatabase();
    const all = migrations();
    const schema = all.findIndex((m) => m.name.endsWith("_export_ops_schema.sql"));
    for (const m of all.slice(0, schema + 1)) await applySqlFile(db.client, m.name, m.sql);
    const rest = all.slice(schema + 1);
    await db.client.query(`
      insert into public.export_logs (user_id, format, status, conversation_count, file_path, completed_at)
      select gen_random_uuid(), 'csv', 'completed', n, 'u/' || n || '.csv', now() - make_interval(hours => n) from generate_series(1, 50) n;
      insert into public.export_metrics (export_id, user_id, format, status, conversation_count, count_range, duration_ms)
      select gen_random_uuid(), gen_random_uuid(), 'json', 'completed', n, 'small', 100 + n from generate_series(1, 50) n;`);
    const read = async () =>
      (
        await db!.client.query(
          "select (select jsonb_agg(l order by file_path) from export_logs l) as logs, (select jsonb_agg(m order by id) from export_metrics m) as metrics",
        )
      ).rows[0];
    const seeded = await read();
    for (const m of rest) await applySqlFile(db.client, m.name, m.sql);
    expect(await read()).toEqual(seeded);
  });

  it("carries an archive batch a run was writing under per-log claims over, and the next claim takes it back whole", async () => {
    db = await freshDatabase();
    const all = migrations();
    const split = all.findIndex((m) => m.name.includes("archive_batches"));
    for (const m of all.slice(0, split)) await applySqlFile(db.client, m.name, m.sql);
    await db.client.query(`
      insert into public.export_logs (user_id, format, status, conversation_count, created_at, expired_at)
      select gen_random_uuid(), 'csv', 'expired', n, now() - interval '40 days', now() - interval '39 days' from generate_series(1, 30) n;`);
    // a run claimed 20 of them (the old way: a row per log) and was writing their archive object
    const claimed = await db.client.query(
      "select export_ops_claim_log_batch('export-archive', 20, now() - interval '30 days') ->> 'batch' as batch",
    );
    const batch = claimed.rows[0].batch as string;

    for (const m of all.slice(split)) await applySqlFile(db.client, m.name, m.sql);

    const next = await db.client.query("select export_ops_claim_log_batch('export-archive', 100, now() - interval '30 days') as c");
    expect(next.rows[0].c).toMatchObject({ batch, object: `${batch}.jsonl.gz`, count: 20, reclaimed: true });
    // its archive text holds the 20 logs as they were claimed
    const text = await db.client.query("select export_ops_archive_batch_text($1) as t", [batch]);
    expect((text.rows[0].t as string).split("\n").filter(Boolean)).toHaveLength(20);
    // the other 10 make the batch after it
    const rest = await db.client.query("select export_ops_claim_log_batch('export-archive', 100, now() - interval '30 days') as c");
    expect(rest.rows[0].c).toMatchObject({ count: 10, reclaimed: false });
  });
});

async function installWithData(client: HostDatabase["client"]): Promise<void> {
  await installAll(client);
  const run = "00000000-0000-4000-b000-000000000001";
  await client.query(`
    insert into public.export_logs (user_id, format, status, conversation_count, file_path, completed_at)
    values (gen_random_uuid(), 'csv', 'completed', 3, 'u/1.csv', now() - interval '3 days');
    select public.export_ops_record_metric(gen_random_uuid(), gen_random_uuid(), 'csv', 'completed', 3, 'small', 120);
    select public.export_ops_start_run('${run}', 'export-file-cleanup', 'manual', false, 300);
    select public.export_ops_file_cleanup_batch('${run}', 24, 10);
    select public.export_ops_finish_run('${run}', 'succeeded', '{"deleted_count": 0}');
    select public.export_ops_evaluate_alert('export_failure_rate', true, '{}');`);
}

/** export-ops' own part of a snapshot: its relations, functions, types, policies and triggers, with privileges. */
function ours(s: CatalogSnapshot) {
  const mine = <T extends { name: string }>(items: T[]) => items.filter((i) => isExportOps(i.name));
  return {
    relations: mine(s.relations),
    functions: mine(s.functions),
    types: mine(s.types),
    policies: mine(s.policies),
    triggers: s.triggers.filter(isExportOps),
  };
}

/** What Supabase's Storage server sets up in its own schema (its migration 0002-storage-schema), as the role it runs as. */
const STORAGE_DEFAULT_PRIVILEGES = ["tables", "functions", "sequences"]
  .map((kind) => `alter default privileges in schema storage grant all on ${kind} to postgres, anon, authenticated, service_role;`)
  .join("\n");

/** supabase/uninstall.sql without its own `begin` and `commit`, to run inside a transaction of the test's. */
const UNINSTALL_IN_TRANSACTION = () => readFileSync(UNINSTALL_SQL, "utf8").replace(/^(begin|commit);$/gm, "");

/** Every default privilege in the database: whose, in which schema, for which kind of object, and what it gives. */
async function defaultPrivileges(
  client: Pick<HostDatabase["client"], "query">,
): Promise<{ role: string; schema: string; type: string; acl: string }[]> {
  const { rows } = await client.query(
    `select d.defaclrole::regrole::text as role, coalesce(d.defaclnamespace::regnamespace::text, '') as schema,
            d.defaclobjtype as type, d.defaclacl::text as acl
     from pg_default_acl d order by 1, 2, 3`,
  );
  return rows;
}

/** Applies the migrations in order, as `supabase db push` does, and stops at the first that fails: its error. */
async function pushUntilFailure(client: HostDatabase["client"]): Promise<Error | undefined> {
  for (const m of migrations()) {
    try {
      await applySqlFile(client, m.name, m.sql);
    } catch (error) {
      return error as Error;
    }
  }
  return undefined;
}

describe("a host whose database already has what export-ops would create", () => {
  it("stops at the first migration, naming every conflicting object and what to do, before anything of export-ops exists", async () => {
    db = await freshDatabase();
    await db.client.query(`
      create table public.export_logs (id bigint primary key, kind text, created_at timestamptz not null default now());
      insert into public.export_logs (id, kind) values (1, 'pdf'), (2, 'zip');
      create view public.export_metrics as select 1 as n;
      create function public.export_ops_ping() returns integer language sql as $$ select 1 $$;`);
    const before = await catalogSnapshot(db.client);

    const error = await pushUntilFailure(db.client);

    expect(error?.message).toMatch(/^20251031000000_export_ops_preflight\.sql failed: export-ops cannot be installed:/);
    for (const part of [
      "table public.export_logs exists with other columns than export-ops' (missing: completed_at timestamp with time zone,",
      "not export-ops': id bigint, kind text): rename it (alter table public.export_logs rename to app_export_logs;) or drop it",
      "index public.export_logs_pkey already exists: rename or drop it",
      "view public.export_metrics already exists",
      "function public.export_ops_ping() already exists",
      "Nothing of export-ops was created",
    ]) {
      expect(error?.message).toContain(part);
    }
    expect(await catalogSnapshot(db.client)).toEqual(before);
    const { rows } = await db.client.query("select id, kind from public.export_logs order by id");
    expect(rows).toEqual([
      { id: "1", kind: "pdf" },
      { id: "2", kind: "zip" },
    ]);
  });

  it("refuses a public exports bucket, naming it and how to make it private, and creates nothing", async () => {
    db = await freshDatabase();
    await db.client.query("update storage.buckets set public = true where id = 'exports'");
    const before = await catalogSnapshot(db.client);

    const error = await pushUntilFailure(db.client);

    expect(error?.message).toContain(
      "bucket exports is public, so every file export-ops keeps in it would be world-readable: make it private " +
        "(Storage > exports > Edit bucket > Public off, or: update storage.buckets set public = false where id = 'exports';)",
    );
    expect(await catalogSnapshot(db.client)).toEqual(before);
  });

  it("does nothing on a database where export-ops is installed (a later push of an upgrade)", async () => {
    db = await freshDatabase();
    await installAll(db.client);
    const installed = await catalogSnapshot(db.client);
    const [preflight] = migrations();
    await applySqlFile(db.client, preflight!.name, preflight!.sql);
    expect(await catalogSnapshot(db.client)).toEqual(installed);
  });
});

describe("reinstalling after an uninstall", () => {
  it("reuses the export_logs the uninstall kept, with its rows and what the host built on it, and ends as a fresh install", async () => {
    const fresh = await freshDatabase();
    let freshInstall: ReturnType<typeof ours>;
    try {
      await installAll(fresh.client);
      freshInstall = ours(await catalogSnapshot(fresh.client));
    } finally {
      await fresh.drop();
    }
    db = await freshDatabase();
    await installWithData(db.client);
    await uninstall(db.client);
    // the table is the host's now: it builds on it
    await db.client.query("create view public.recent_exports as select export_id, status from public.export_logs");
    const kept = (await db.client.query("select * from public.export_logs order by export_id")).rows;
    expect(kept).toHaveLength(1);

    expect(await pushUntilFailure(db.client)).toBeUndefined();

    expect((await db.client.query("select * from public.export_logs order by export_id")).rows).toEqual(kept);
    expect((await db.client.query("select status from public.recent_exports")).rows).toEqual([{ status: "completed" }]);
    expect(ours(await catalogSnapshot(db.client))).toEqual(freshInstall!);
    // and the reused table works as export-ops' own: a signed-in user reads only their rows
    await db.client.query("select public.export_ops_file_cleanup_batch(gen_random_uuid(), 24, 10)");
    expect((await db.client.query("select status from public.export_logs")).rows).toEqual([{ status: "completed" }]);
  });
});

describe("reinstalling over an export_logs export-ops would not own alone", () => {
  it("refuses a kept export_logs holding a policy the host added since, naming it and how to drop it, and creates nothing", async () => {
    db = await freshDatabase();
    await installWithData(db.client);
    await uninstall(db.client);
    // the host's since the uninstall: a policy that shows every log to every signed-in user
    await db.client.query("create policy app_staff_read on public.export_logs for select to authenticated using (true)");
    const before = await catalogSnapshot(db.client);
    const kept = (await db.client.query("select * from public.export_logs order by export_id")).rows;

    const error = await pushUntilFailure(db.client);

    expect(error?.message).toMatch(/^20251031000000_export_ops_preflight\.sql failed: export-ops cannot be installed:/);
    expect(error?.message).toContain(
      "policy app_staff_read on public.export_logs (for SELECT to authenticated using (true)) is not export-ops': reused, the table " +
        "would keep it, and every row it lets through with it: drop it (drop policy app_staff_read on public.export_logs;), or rename " +
        "the table to keep it as your app's (alter table public.export_logs rename to app_export_logs;)",
    );
    expect(await catalogSnapshot(db.client)).toEqual(before);
    expect((await db.client.query("select * from public.export_logs order by export_id")).rows).toEqual(kept);

    // dropped as the message says, the table is reused with its rows, and no signed-in user reads another's
    await db.client.query("drop policy app_staff_read on public.export_logs");
    expect(await pushUntilFailure(db.client)).toBeUndefined();
    expect((await db.client.query("select * from public.export_logs order by export_id")).rows).toEqual(kept);
    expect((await db.client.query("select polname from pg_policy where polrelid = 'public.export_logs'::regclass")).rows).toEqual([
      { polname: "export_ops_logs_owner_read" },
    ]);
  });

  it("resumes a reuse an earlier push set aside and did not put back, unless a policy was added to it since", async () => {
    db = await freshDatabase();
    await installWithData(db.client);
    await uninstall(db.client);
    const kept = (await db.client.query("select * from public.export_logs order by export_id")).rows;
    // a push that stopped right after the preflight had set the table aside
    const [preflight] = migrations();
    await applySqlFile(db.client, preflight!.name, preflight!.sql);
    await db.client.query("create policy app_staff_read on public.export_ops_kept_export_logs for select to authenticated using (true)");

    const error = await pushUntilFailure(db.client);
    expect(error?.message).toContain(
      "policy app_staff_read on public.export_ops_kept_export_logs (for SELECT to authenticated using (true)) is not export-ops'",
    );

    await db.client.query("drop policy app_staff_read on public.export_ops_kept_export_logs");
    expect(await pushUntilFailure(db.client)).toBeUndefined();
    expect((await db.client.query("select * from public.export_logs order by export_id")).rows).toEqual(kept);
  });

  it("refuses an export_logs with export-ops' columns but not its comment (perhaps the app's own), saying how to mark it", async () => {
    db = await freshDatabase();
    await db.client.query(`
      create table public.export_logs (
        export_id uuid primary key default gen_random_uuid(), user_id uuid not null, format text not null,
        status text not null default 'queued', conversation_count integer not null default 0, file_path text,
        file_size_bytes bigint, error_type text, error_message text, created_at timestamptz not null default now(),
        completed_at timestamptz, expired_at timestamptz);
      insert into public.export_logs (user_id, format, status, completed_at, file_path)
      values (gen_random_uuid(), 'csv', 'completed', now(), 'u/app.csv');`);
    const before = await catalogSnapshot(db.client);

    const error = await pushUntilFailure(db.client);

    expect(error?.message).toMatch(/^20251031000000_export_ops_preflight\.sql failed: export-ops cannot be installed:/);
    expect(error?.message).toContain(
      "table public.export_logs has export-ops' columns but not the comment export-ops gives it, so it may be your app's own " +
        "(export-ops expires the files of its exports and deletes its rows): if it is the export_logs an earlier export-ops " +
        "uninstall kept, mark it for reuse (comment on table public.export_logs is 'One row per export; export-ops expires its " +
        "file and later deletes the row.';), otherwise rename it (alter table public.export_logs rename to app_export_logs;)",
    );
    expect(error?.message).not.toContain("export_logs_pkey");
    expect(await catalogSnapshot(db.client)).toEqual(before);

    // marked as the message says, it is reused with its row
    await db.client.query(
      "comment on table public.export_logs is 'One row per export; export-ops expires its file and later deletes the row.'",
    );
    expect(await pushUntilFailure(db.client)).toBeUndefined();
    expect((await db.client.query("select file_path from public.export_logs")).rows).toEqual([{ file_path: "u/app.csv" }]);
  });
});

describe("uninstalling", () => {
  it("with export_logs opted in, leaves the database exactly as it was before the install", async () => {
    db = await freshDatabase();
    const before = await catalogSnapshot(db.client);
    await installWithData(db.client);
    await db.client.query("set export_ops.uninstall_drop_export_logs = 'true'");
    await uninstall(db.client);
    expect(await catalogSnapshot(db.client)).toEqual(before);
    expect(await hostBehaviour(db.client)).toEqual(await hostBehaviourOfFresh());
  });

  it("keeps export_logs (its rows, indexes and owner-read policy) by default, and removes the rest", async () => {
    db = await freshDatabase();
    const before = await catalogSnapshot(db.client);
    await installWithData(db.client);
    await uninstall(db.client);
    const after = await catalogSnapshot(db.client);
    expect(hostPart(after)).toEqual(before);
    expect(after.relations.filter((r) => isExportOps(r.name)).map((r) => r.name)).toEqual([
      "public.export_logs",
      "public.export_logs_pkey",
      "public.export_ops_logs_completed_idx",
      "public.export_ops_logs_created_idx",
      "public.export_ops_logs_file_path_idx",
      "public.export_ops_logs_in_progress_idx",
      "public.export_ops_logs_user_idx",
    ]);
    expect(after.policies.map((p) => p.name)).toContain("export_logs.export_ops_logs_owner_read");
    expect(after.functions.filter((f) => isExportOps(f.name))).toEqual([]);
    expect(after.types.filter((t) => isExportOps(t.name))).toEqual([]);
    const { rows } = await db.client.query("select count(*)::int as n from public.export_logs");
    expect(rows[0].n).toBe(1);
  });

  it("names the Supabase CLI's history rows of its migrations, to be marked reverted, and leaves them to the CLI", async () => {
    db = await freshDatabase();
    await db.client.query(`
      create schema supabase_migrations;
      create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
      insert into supabase_migrations.schema_migrations (version, name) values
        ('20260101000000', 'host_init'), ('20261201000000', 'export_ops_preflight'), ('20261201000001', 'export_ops_schema');`);
    await installAll(db.client);
    const notices: string[] = [];
    db.client.on("notice", (n) => notices.push(n.message ?? ""));
    await uninstall(db.client);
    expect(notices).toContain(
      "export-ops: now delete supabase/migrations/*_export_ops_*.sql and run: supabase migration repair --status reverted 20261201000000 20261201000001",
    );
    const { rows } = await db.client.query("select version from supabase_migrations.schema_migrations order by version");
    expect(rows.map((r) => r.version)).toEqual(["20260101000000", "20261201000000", "20261201000001"]);
  });

  it("works the same on an older Storage whose tables let SQL delete (no protect-delete trigger, before v1.35)", async () => {
    db = await freshDatabase();
    await db.client.query("drop trigger protect_buckets_delete on storage.buckets; drop trigger protect_objects_delete on storage.objects");
    const before = await catalogSnapshot(db.client);
    await installWithData(db.client);
    await db.client.query("set export_ops.uninstall_drop_export_logs = 'true'");
    await uninstall(db.client);
    expect(await catalogSnapshot(db.client)).toEqual(before);
  });

  it("keeps a bucket it created while it still holds objects, and a second run changes nothing more", async () => {
    db = await freshDatabase();
    await installAll(db.client);
    await db.client.query("insert into storage.objects (bucket_id, name) values ('export-archive', 'logs/left-behind.jsonl.gz')");
    await uninstall(db.client);
    await uninstall(db.client);
    const { rows } = await db.client.query("select id from storage.buckets order by id");
    expect(rows.map((r) => r.id)).toEqual(["avatars", "export-archive", "exports"]);
  });
});

/**
 * Every privilege anon, authenticated or PUBLIC holds on an object of export-ops — its relations (tables, views,
 * sequences) and their columns, functions, and types (domains, and the row types of its tables, reported as
 * `row type`) — Postgres' built-in defaults included (an object whose ACL is null has them).
 */
async function grantsToAppRoles(client: HostDatabase["client"]): Promise<{ object: string; grantee: string; privilege: string }[]> {
  const { rows } = await client.query<{ object: string; name: string; grantee: string; privilege: string }>(`
    with objects as (
      select case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                            when 'f' then 'foreign table' else 'table' end || ' public.' || c.relname as object,
             'public.' || c.relname as name, coalesce(c.relacl, acldefault(case c.relkind when 'S' then 's' else 'r' end::"char", c.relowner)) as acl
      from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      union all
      select 'column public.' || c.relname || '.' || a.attname, 'public.' || c.relname, a.attacl
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = 'public'::regnamespace and a.attacl is not null
      union all
      select 'function public.' || p.oid::regprocedure::text, 'public.' || p.proname, coalesce(p.proacl, acldefault('f', p.proowner))
      from pg_proc p where p.pronamespace = 'public'::regnamespace
      union all
      -- array types take their element type's privileges
      select case when t.typrelid <> 0 then 'row type' else 'type' end || ' public.' || t.typname, 'public.' || t.typname,
             coalesce(t.typacl, acldefault('T', t.typowner))
      from pg_type t where t.typnamespace = 'public'::regnamespace and t.typcategory <> 'A'
    )
    select o.object, o.name, case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end as grantee, a.privilege_type as privilege
    from objects o cross join lateral aclexplode(o.acl) a
    where a.grantee = 0 or a.grantee in ('anon'::regrole, 'authenticated'::regrole)
    order by 1, 3, 4`);
  return rows.filter((r) => isExportOps(r.name)).map(({ object, grantee, privilege }) => ({ object, grantee, privilege }));
}

/** The host fixture's behaviour in a database export-ops never touched. */
async function hostBehaviourOfFresh(): Promise<unknown[]> {
  const fresh = await freshDatabase();
  try {
    return await hostBehaviour(fresh.client);
  } finally {
    await fresh.drop();
  }
}
