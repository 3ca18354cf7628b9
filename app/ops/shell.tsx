// What every ops view shares: the sign-in form, the header with sign-out, and how a failed read is shown.
import type { ReactNode } from "react";

export function SignIn({ refused }: { refused: boolean }) {
  return (
    <main className="ops signin">
      <h1>export-ops</h1>
      <form method="post" action="/ops/sign-in">
        <label htmlFor="token">Ops token</label>
        <p className="hint">
          The <code>OPS_TOKEN</code> of this deployment. It is sent once; the page then keeps a session for 12 hours, until you sign out.
        </p>
        {refused ? (
          <p role="alert" className="error">
            That token was refused: it is not this deployment’s OPS_TOKEN.
          </p>
        ) : null}
        <input id="token" name="token" type="password" autoComplete="current-password" required minLength={16} />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

export function OpsShell({ children }: { children: ReactNode }) {
  return (
    <main className="ops">
      <header>
        <h1>
          <a href="/ops">export-ops</a>
        </h1>
        <form method="post" action="/ops/sign-out">
          <button type="submit">Sign out</button>
          <button type="submit" name="everywhere" value="true" title="Ends every session of this page, in every browser">
            Sign out everywhere
          </button>
        </form>
      </header>
      {children}
    </main>
  );
}

export function ReadFailed({ message }: { message: string }) {
  return (
    <p role="alert" className="error">
      Could not read the database: {message}. Check SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, then reload.
    </p>
  );
}
