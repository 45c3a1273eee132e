// A push's progress as the page shows it: one row per layer of the tag
// being pushed, and the tags done with their digests.

import type { LayerState, PushEvent } from "./bindings";

export type LayerRow = { id: string; state: LayerState; current: number; total: number };

export type PushProgress = {
  /** The tag being pushed. */
  tag: string | null;
  layers: LayerRow[];
  /** Tags on the registry, with their digests. */
  done: { tag: string; digest: string }[];
  /** The engine's last message about no layer. */
  status: string | null;
};

export const emptyProgress = (): PushProgress => ({ tag: null, layers: [], done: [], status: null });

/** The progress after one event. */
export function applyPushEvent(p: PushProgress, e: PushEvent): PushProgress {
  switch (e.kind) {
    case "tag":
      return { ...p, tag: e.tag, layers: [], status: null };
    case "layer": {
      const row: LayerRow = { id: e.id, state: e.state, current: e.current, total: e.total };
      const old = p.layers.find((l) => l.id === e.id);
      if (old && row.total === 0) {
        row.current = old.current;
        row.total = old.total;
      }
      const layers = old ? p.layers.map((l) => (l.id === e.id ? row : l)) : [...p.layers, row];
      return { ...p, layers };
    }
    case "status":
      return { ...p, status: e.text };
    case "pushed":
      return { ...p, done: [...p.done, { tag: e.tag, digest: e.digest }] };
  }
}

/** A layer's share done, 0 to 1. */
export function layerShare(l: LayerRow): number {
  if (l.state === "pushed" || l.state === "exists") return 1;
  if (l.total <= 0) return 0;
  return Math.min(1, l.current / l.total);
}

/** Words for a layer's state. */
export const layerWords: Record<LayerState, string> = {
  preparing: "preparing",
  waiting: "waiting",
  pushing: "pushing",
  pushed: "pushed",
  exists: "already there",
  retrying: "retrying",
};

/** The whole tag's share done: layers weighted alike. */
export function tagShare(p: PushProgress): number {
  if (p.layers.length === 0) return 0;
  return p.layers.reduce((sum, l) => sum + layerShare(l), 0) / p.layers.length;
}
