import { describe, expect, it } from "vitest";
import { escapeHtml, html, raw } from "./html";

describe("html", () => {
  it("escapes an interpolated script so it is text, not an element", () => {
    const out = html`<td>${"<script>alert(1)</script>"}</td>`.value;
    expect(out).toBe("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    expect(out).not.toContain("<script");
  });

  it("keeps an attribute value inside its quotes, whichever quotes it holds", () => {
    const hostile = `x" onmouseover="alert(1)`;
    expect(html`<tr data-job="${hostile}">`.value).toBe('<tr data-job="x&quot; onmouseover=&quot;alert(1)">');
    expect(html`<a title='${"it's"}'>`.value).toBe("<a title='it&#39;s'>");
    expect(html`<a href="${"/ops/runs/a?b=1&c=<2>"}">`.value).toBe('<a href="/ops/runs/a?b=1&amp;c=&lt;2&gt;">');
  });

  it("escapes every value of an array, and writes nothing for null, undefined and booleans", () => {
    expect(html`<ul>${["<b>", "&"].map((s) => html`<li>${s}</li>`)}</ul>`.value).toBe("<ul><li>&lt;b&gt;</li><li>&amp;</li></ul>");
    expect(html`[${null}${undefined}${false}${true}]`.value).toBe("[]");
    expect(html`${0} ${1234.5}`.value).toBe("0 1234.5");
  });

  it("takes HTML it made, and raw() fragments, as they are — but escapes a string that merely looks like HTML", () => {
    const inner = html`<code>${"<i>"}</code>`;
    expect(html`<td>${inner}</td>`.value).toBe("<td><code>&lt;i&gt;</code></td>");
    expect(html`<td>${raw("<br>")}</td>`.value).toBe("<td><br></td>");
    expect(html`${inner.value}`.value).toBe("&lt;code&gt;&amp;lt;i&amp;gt;&lt;/code&gt;");
  });

  it("escapes the five characters that matter, and nothing else", () => {
    expect(escapeHtml(`&<>"'`)).toBe("&amp;&lt;&gt;&quot;&#39;");
    expect(escapeHtml("café — 100% ✓")).toBe("café — 100% ✓");
  });
});
