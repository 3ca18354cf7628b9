// The app's export endpoint.
import { exportConversations } from "@/lib/exports";

export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const { user_id, rows } = (await request.json()) as { user_id: string; rows: string[][] };
  return Response.json(await exportConversations(user_id, rows));
}
