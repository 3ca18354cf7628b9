import { beforeEach, describe, expect, it, vi } from "vitest";

const cores = vi.hoisted(() => ({ count: 2 }));
vi.mock("node:os", async (original) => ({
  ...(await original<typeof import("node:os")>()),
  cpus: () => Array.from({ length: cores.count }, () => ({})),
}));
const { coresOf } = await import("./processes");

describe("where each side runs in a layout", () => {
  beforeEach(() => void (cores.count = 2));

  it("puts the database side on core 0 and the app side on the others when production-like", () => {
    expect(coresOf("production-like")).toEqual({ database: "0", app: "1" });
    cores.count = 8;
    expect(coresOf("production-like")).toEqual({ database: "0", app: "1-7" });
  });

  it("puts both sides on every core when shared", () => {
    expect(coresOf("shared")).toEqual({ database: "0-1", app: "0-1" });
  });

  it("refuses the production-like layout on one core, naming it", () => {
    cores.count = 1;
    expect(() => coresOf("production-like")).toThrow("the production-like layout needs two cores or more");
    expect(coresOf("shared")).toEqual({ database: "0-0", app: "0-0" });
  });
});
