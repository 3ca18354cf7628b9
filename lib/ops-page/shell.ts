// What every ops view shares: the sign-in form, the header with sign-out, and how a failed read is shown.
import { html, type HtmlValue, type SafeHtml } from "./html";

export function signInView(base: string, refused: boolean): SafeHtml {
  const refusal = refused ? html`<p role="alert" class="error">That token was refused: it is not this deployment’s OPS_TOKEN.</p>` : null;
  return html`<main class="ops signin">
<h1>export-ops</h1>
<form method="post" action="${base}/sign-in">
<label for="token">Ops token</label>
<p class="hint">The <code>OPS_TOKEN</code> of this deployment. It is sent once; the page then keeps a session for 12 hours, until you sign out.</p>
${refusal}
<input id="token" name="token" type="password" autocomplete="current-password" required minlength="16">
<button type="submit">Sign in</button>
</form>
</main>`;
}

export function opsShell(base: string, content: HtmlValue): SafeHtml {
  return html`<main class="ops">
<header>
<h1><a href="${base}">export-ops</a></h1>
<form method="post" action="${base}/sign-out">
<button type="submit">Sign out</button>
<button type="submit" name="everywhere" value="true" title="Ends every session of this page, in every browser">Sign out everywhere</button>
</form>
</header>
${content}
</main>`;
}

export function readFailed(message: string): SafeHtml {
  return html`<p role="alert" class="error">Could not read the database: ${message}. Check SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, then reload.</p>`;
}
