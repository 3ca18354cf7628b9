export default function Login() {
  return (
    <main className="host-login">
      <h1>Sign in to the host app</h1>
    </main>
  );
}
