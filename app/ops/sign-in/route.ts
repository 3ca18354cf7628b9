// POST /ops/sign-in (form field `token` = OPS_TOKEN): opens a session and sets its cookie.
import { signIn } from "@/lib/http/ops-session";

export const dynamic = "force-dynamic";

export const POST = signIn();
