// Which tiles the meeting page shows, how big, and so which video it asks the
// SFU for (F-CTL-8, F-CTL-9). Layouts are the client's business: gallery view
// pages through everyone 25 at a time (up to 49 in room mode); speaker view
// shows one main picture (the spotlight, else a shared screen, else the
// active speaker) and up to 4 thumbnails. A spotlight or someone else's
// shared screen is the main picture in gallery view too, so a screen is never
// a thumbnail. Room mode's custom view shows the others in a fixed order, a
// few per screen, and its screens rotate (polling): the page number only
// grows, and wraps around. The server only forwards what is on screen, at
// the quality its size needs.

import type { VideoQuality, VideoSubscription } from "./proto";

export type LayoutMode = "gallery" | "speaker" | "custom";

/** Tiles per gallery page, unless room mode chooses more. */
export const GALLERY_PAGE_SIZE = 25;
/** The most tiles room mode shows on one screen. */
export const MAX_PAGE_SIZE = 49;
/** Thumbnails under the main picture in speaker view. */
export const SPEAKER_THUMBNAILS = 4;

export type TileSize = "main" | "tile" | "thumb";

export interface LayoutInput {
  /** Every tile in display order (own tile first). */
  order: string[];
  selfId: string;
  mode: LayoutMode;
  /** Requested gallery page (0-based); clamped to the pages there are, in custom view taken modulo them. */
  page: number;
  /** Tiles per gallery page (1..49; 25 when not given). */
  pageSize?: number;
  /** Custom view (room mode): who comes first, in this order (the others follow as they joined), and how many per screen. */
  custom?: { order: readonly string[]; perScreen: number };
  spotlight: string | null;
  /** Someone sharing their screen: the main picture unless there is a spotlight. */
  sharing: string | null;
  activeSpeaker: string | null;
}

export interface Layout {
  /** The shown tiles and their sizes; every other tile is hidden. */
  shown: Map<string, TileSize>;
  /** The main picture, if the layout has one. */
  main: string | null;
  page: number;
  pages: number;
  /** Grid columns for the non-main tiles. */
  columns: number;
  /** The video to ask the SFU for: everyone not listed is off. */
  subscriptions: VideoSubscription[];
}

function columnsFor(count: number): number {
  if (count <= 1) return 1;
  if (count <= 4) return 2;
  if (count <= 9) return 3;
  if (count <= 16) return 4;
  if (count <= 25) return 5;
  if (count <= 36) return 6;
  return 7;
}

function clampSize(size: number): number {
  return Math.min(Math.max(Math.floor(size) || 1, 1), MAX_PAGE_SIZE);
}

/**
 * The custom view's sequence: those of `fixed` who are here, in that order,
 * then the other participants in display order; never oneself unless alone
 * (a meeting-room terminal shows the far end).
 */
export function customSequence(order: readonly string[], selfId: string, fixed: readonly string[]): string[] {
  const others = order.filter((id) => id !== selfId);
  if (others.length === 0) return order.filter((id) => id === selfId);
  const here = new Set(others);
  const first = [...new Set(fixed)].filter((id) => here.has(id));
  const placed = new Set(first);
  return [...first, ...others.filter((id) => !placed.has(id))];
}

/** The quality a gallery tile needs when `count` tiles share the page. */
function galleryQuality(count: number): VideoQuality {
  if (count <= 4) return "high";
  if (count <= 9) return "medium";
  return "low";
}

export function computeLayout(input: LayoutInput): Layout {
  const { order, selfId, mode } = input;
  const present = (id: string | null): id is string => id !== null && order.includes(id);
  const shown = new Map<string, TileSize>();
  let main: string | null = null;
  let page = 0;
  let pages = 1;
  let columns: number;

  if (mode === "custom") {
    const sequence = customSequence(order, selfId, input.custom?.order ?? []);
    const perScreen = clampSize(input.custom?.perScreen ?? 1);
    pages = Math.max(1, Math.ceil(sequence.length / perScreen));
    page = ((input.page % pages) + pages) % pages;
    const onScreen = sequence.slice(page * perScreen, (page + 1) * perScreen);
    // One at a time is a full picture; more share the screen as tiles.
    if (perScreen === 1 && onScreen[0] !== undefined) {
      main = onScreen[0];
      shown.set(main, "main");
    } else for (const id of onScreen) shown.set(id, "tile");
    columns = columnsFor(onScreen.length);
  } else if (mode === "speaker") {
    const others = order.filter((id) => id !== selfId);
    main = present(input.spotlight)
      ? input.spotlight
      : present(input.sharing) && input.sharing !== selfId
        ? input.sharing
        : present(input.activeSpeaker) && input.activeSpeaker !== selfId
        ? input.activeSpeaker
        : (others[0] ?? selfId);
    shown.set(main, "main");
    for (const id of order.filter((id) => id !== main).slice(0, SPEAKER_THUMBNAILS)) shown.set(id, "thumb");
    columns = Math.max(shown.size - 1, 1);
  } else {
    // One's own shared screen needs no big picture (it is on one's screen).
    main = present(input.spotlight)
      ? input.spotlight
      : present(input.sharing) && input.sharing !== selfId
        ? input.sharing
        : null;
    const rest = order.filter((id) => id !== main);
    const pageSize = clampSize(input.pageSize ?? GALLERY_PAGE_SIZE);
    pages = Math.max(1, Math.ceil(rest.length / pageSize));
    page = Math.min(Math.max(input.page, 0), pages - 1);
    const onPage = rest.slice(page * pageSize, (page + 1) * pageSize);
    if (main) shown.set(main, "main");
    for (const id of onPage) shown.set(id, main ? "thumb" : "tile");
    columns = main ? Math.min(Math.max(onPage.length, 1), 5) : columnsFor(onPage.length);
  }

  const tiles = [...shown.values()].filter((size) => size === "tile").length;
  const subscriptions: VideoSubscription[] = [];
  for (const [id, size] of shown) {
    if (id === selfId) continue;
    const quality: VideoQuality = size === "main" ? "high" : size === "thumb" ? "low" : galleryQuality(tiles);
    subscriptions.push({ participant_id: id, quality });
  }
  subscriptions.sort((a, b) => a.participant_id.localeCompare(b.participant_id));
  return { shown, main, page, pages, columns, subscriptions };
}
