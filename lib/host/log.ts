/**
 * Log lines: one JSON object per line on stdout, which Vercel's log drains forward as they are. A host passes its
 * own logger instead (pino's methods fit).
 */
export interface Logger {
  info(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  debug(fields: Record<string, unknown>, msg: string): void;
}

const line = (level: string) => (fields: Record<string, unknown>, msg: string) => {
  console.log(JSON.stringify({ level, time: new Date().toISOString(), service: "export-ops", ...fields, msg }));
};

/** JSON lines on stdout; debug lines are left out. */
export const jsonLogger: Logger = { info: line("info"), error: line("error"), debug: () => {} };
