"use client";
// A time shown in UTC, with the reader's local time on hover (the title is set in the browser, which knows it).
import { useEffect, useState } from "react";
import { utc } from "./format";

export function Time({ iso }: { iso: string }) {
  const [local, setLocal] = useState<string | undefined>(undefined);
  useEffect(() => setLocal(`${new Date(iso).toLocaleString()} (your time)`), [iso]);
  return (
    <time dateTime={iso} title={local}>
      {utc(iso)}
    </time>
  );
}
