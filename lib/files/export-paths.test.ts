import { describe, expect, it } from "vitest";
import { SEED_FORMATS, exportPath, formatOfExtension, unsafePathReason } from "./export-paths";

const user = "5b0c6a8e-3f0e-4a57-9a39-1d1f8c7e2b10";
const other = "0e6f3c1a-9b2d-4c8e-8f7a-2a4b6c8d0e1f";
const owner = { user_id: user, format: "jsonl" };

describe("unsafePathReason", () => {
  it("accepts the canonical layout", () => {
    expect(exportPath(user, other, "jsonl")).toBe(`${user}/${other}.jsonl`);
    expect(unsafePathReason(exportPath(user, other, "jsonl"), SEED_FORMATS, owner)).toBeNull();
    expect(unsafePathReason(`${user}/report-2026.md`, SEED_FORMATS, { user_id: user, format: "markdown" })).toBeNull();
  });

  it.each([
    ["an empty path", "", "empty path"],
    ["a null path", null, "empty path"],
    ["a '..' segment", `${user}/../${other}/x.jsonl`, "'..' segment"],
    ["a leading /", `/${user}/x.jsonl`, "starts with /"],
    ["another bucket's name", `export-archive/${user}/x.jsonl`, "not of the form"],
    ["a bucket-name folder", `exports/x.jsonl`, "first segment is not a user id"],
    ["a control character", `${user}/x\u0000.jsonl`, "control characters"],
    ["a newline", `${user}/x\n.jsonl`, "control characters"],
    ["a path over 1024 bytes", `${user}/${"a".repeat(1020)}.jsonl`, "longer than Storage allows"],
    ["another user's folder", `${other}/x.jsonl`, "not in the export owner's folder"],
    ["a deeper path", `${user}/a/b.jsonl`, "not of the form"],
    ["the user folder itself", `${user}`, "not of the form"],
    ["a wrong extension", `${user}/x.csv`, "does not fit format jsonl"],
    ["a wildcard", `${user}/*.jsonl`, "outside [A-Za-z0-9._-]"],
    ["a backslash", `${user}/..\\x.jsonl`, "outside [A-Za-z0-9._-]"],
  ])("refuses %s", (_, path, reason) => {
    expect(unsafePathReason(path, SEED_FORMATS, owner)).toContain(reason);
  });

  it("takes the formats it is given: a host's own format and its extension", () => {
    const formats = { ...SEED_FORMATS, pdf: ["pdf"] };
    expect(unsafePathReason(`${user}/x.pdf`, formats, { user_id: user, format: "pdf" })).toBeNull();
    expect(unsafePathReason(`${user}/x.pdf`, SEED_FORMATS, { user_id: user, format: "pdf" })).toContain("does not fit format pdf");
    expect(exportPath(user, other, "pdf", formats)).toBe(`${user}/${other}.pdf`);
    expect(() => exportPath(user, other, "pdf")).toThrow("unknown export format pdf");
    expect(formatOfExtension(formats, "md")).toBe("markdown");
    expect(formatOfExtension(formats, "exe")).toBeUndefined();
  });

  it("checks orphans against any user folder and any export extension", () => {
    expect(unsafePathReason(`${other}/x.csv`, SEED_FORMATS)).toBeNull();
    expect(unsafePathReason("notes/readme.txt", SEED_FORMATS)).toContain("first segment is not a user id");
    expect(unsafePathReason(`${other}/x.exe`, SEED_FORMATS)).toContain("does not fit any export format");
  });
});
