/**
 * Integration tests run against the local stack, started once here and stopped at the end. To run them
 * against a real Supabase project instead (e.g. `supabase start`), set TEST_SUPABASE_URL,
 * TEST_SUPABASE_ANON_KEY, TEST_SUPABASE_SERVICE_ROLE_KEY, TEST_SUPABASE_JWT_SECRET and TEST_DATABASE_URL.
 */
import type { TestProject } from "vitest/node";
import { startStack, type StackEnv } from "../scripts/local-stack";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackEnv & { standIn: boolean };
  }
}

function externalStack(): StackEnv | undefined {
  const e = process.env;
  const values = {
    SUPABASE_URL: e.TEST_SUPABASE_URL,
    SUPABASE_ANON_KEY: e.TEST_SUPABASE_ANON_KEY,
    SUPABASE_SERVICE_ROLE_KEY: e.TEST_SUPABASE_SERVICE_ROLE_KEY,
    SUPABASE_JWT_SECRET: e.TEST_SUPABASE_JWT_SECRET,
    DATABASE_URL: e.TEST_DATABASE_URL,
  };
  return Object.values(values).every(Boolean) ? (values as StackEnv) : undefined;
}

export default async function setup(project: TestProject) {
  const external = externalStack();
  if (external) {
    project.provide("stack", { ...external, standIn: false });
    return;
  }
  const stack = await startStack({ quiet: true, hostFixture: true });
  project.provide("stack", { ...stack.env, standIn: true });
  return () => stack.stop();
}
