/**
 * The ops page's HTML document and the headers it is served with. The document is the page's own: its one inline
 * stylesheet and its one inline script are allowed by their sha256 hashes in a strict content security policy
 * (no 'unsafe-inline', no 'unsafe-eval', nothing from any origin), which the handler sends with every page.
 */
import { createHash } from "node:crypto";
import { html, raw, type SafeHtml } from "./html";
import { ROOT_CLASS, SCRIPT, STYLE } from "./style";

const hash = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** The page's policy: its own stylesheet and script by hash, forms posted to itself only, never framed. */
export const PAGE_POLICY = [
  "default-src 'none'",
  `style-src ${hash(STYLE)}`,
  `script-src ${hash(SCRIPT)}`,
  "img-src data:", // the empty icon below, so the browser asks for no /favicon.ico
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** For answers that are not the page (404s, sign-in's errors): nothing at all. */
export const BARE_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Every answer of the ops routes: not framed, not sniffed, the Referer kept to this origin, never cached. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // same-origin, not no-referrer: with no-referrer the browser sends `Origin: null` on the page's own form posts,
  // which sign-in refuses as cross-site
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

export function renderDocument(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body class="${ROOT_CLASS}">
${body}
<script>${raw(SCRIPT)}</script>
</body>
</html>
`.value;
}

/** A page of the ops routes, with its policy and the security headers. */
export function htmlResponse(status: number, title: string, body: SafeHtml): Response {
  return new Response(renderDocument(title, body), {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "content-security-policy": PAGE_POLICY },
  });
}

/** 404, the same whatever was asked: nobody learns more than that there is no such page. */
export function notFoundResponse(): Response {
  return new Response("Not found\n", {
    status: 404,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "content-security-policy": BARE_POLICY },
  });
}
