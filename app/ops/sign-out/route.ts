// POST /ops/sign-out (form field `everywhere=true` to end every session): ends the session and clears its cookie.
import { signOut } from "@/lib/http/ops-session";

export const dynamic = "force-dynamic";

export const POST = signOut();
