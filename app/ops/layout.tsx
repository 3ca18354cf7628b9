import type { ReactNode } from "react";
import "./ops.css";

export default function OpsLayout({ children }: { children: ReactNode }) {
  return children;
}
