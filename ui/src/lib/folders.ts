import type { SyncdeskClient } from './client/client';
import type { Folder } from './model';

/**
 * Loads the folder list and loads it again whenever a folder is added, changed or removed,
 * or the event stream comes back after a gap, so every view's folder menu stays current
 * without polling. Returns the unsubscribe.
 */
export function followFolders(
  client: SyncdeskClient,
  onList: (folders: Folder[]) => void,
  onError: (e: unknown) => void = () => {},
): () => void {
  const load = () => client.listFolders().then(onList, onError);
  void load();
  const stops = [client.on('folderChanged', load), client.on('folderRemoved', load), client.onReconnect(load)];
  return () => stops.forEach((stop) => stop());
}
