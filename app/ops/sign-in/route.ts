// POST /ops/sign-in (form field `token` = HEALTH_TOKEN): sets the ops page's session cookie.
import { signIn } from "@/lib/http/ops-session";

export const dynamic = "force-dynamic";

export const POST = signIn();
