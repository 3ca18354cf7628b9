import type { ReactNode } from "react";

export const metadata = { title: "export-ops", description: "Cleanup, metrics and alerting for file exports" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: "system-ui, sans-serif", margin: "2rem" }}>{children}</body>
    </html>
  );
}
