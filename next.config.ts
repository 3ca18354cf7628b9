import type { NextConfig } from "next";
import { assertBuildEnv } from "./lib/env";

// A deployment whose environment is invalid fails its build here, naming each bad variable.
// (SKIP_ENV_VALIDATION=1 builds without one, as CI does.)
assertBuildEnv();

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // pino and supabase-js run as plain Node modules in the functions instead of being bundled.
  serverExternalPackages: ["pino"],
};

export default nextConfig;
