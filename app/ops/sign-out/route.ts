// POST /ops/sign-out: clears the ops page's session cookie.
import { signOut } from "@/lib/http/ops-session";

export const dynamic = "force-dynamic";

export const POST = signOut();
