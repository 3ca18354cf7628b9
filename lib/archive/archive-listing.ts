/**
 * The archive objects in an archive bucket, for `npm run archive -- list`: the same walk through its folders on
 * either target (Supabase Storage lists one folder at a time, and the S3 adapter lists as it does).
 */
import type { ObjectStorage } from "../ports";

const PAGE = 1000;

export interface ListedArchive {
  name: string;
  size: number | null;
  updated_at: string | null;
}

/** Every object under `prefix` (`logs/` for the log cleanup's, `erasure/` for copies kept on purpose), by name. */
export async function listArchiveObjects(storage: Pick<ObjectStorage, "list">, bucket: string, prefix: string): Promise<ListedArchive[]> {
  const found: ListedArchive[] = [];
  const folders = [prefix.replace(/\/+$/, "")];
  for (let folder = folders.shift(); folder !== undefined; folder = folders.shift()) {
    for (let offset = 0; ; offset += PAGE) {
      const page = await storage.list(bucket, folder, { limit: PAGE, offset });
      for (const entry of page) {
        const name = folder ? `${folder}/${entry.name}` : entry.name;
        if (entry.id === null) folders.push(name);
        else
          found.push({ name, size: typeof entry.metadata?.size === "number" ? entry.metadata.size : null, updated_at: entry.updated_at });
      }
      if (page.length < PAGE) break;
    }
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
