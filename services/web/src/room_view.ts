// Room mode's view settings (F-CTL-9, manual 3.7.3): a meeting-room terminal
// chooses how many tiles its gallery shows per screen (25 by default, up to
// 49), and for its custom view how many participants share a screen and how
// often the screens rotate (polling). The terminal keeps them between
// meetings; the custom view's fixed order is per meeting (it names
// participants). Pure: the panel that shows them is `room_view_panel.ts`.

/** Tiles per gallery screen a terminal may choose. */
export const ROOM_PAGE_SIZES: readonly number[] = [25, 36, 49];
/** Participants per custom-view screen. */
export const PER_SCREEN_CHOICES: readonly number[] = [1, 4, 9, 16, 25];
/** Seconds between custom-view screens; 0: no rotation. */
export const ROTATION_CHOICES: readonly number[] = [0, 5, 10, 30, 60];

export interface RoomViewSettings {
  pageSize: number;
  perScreen: number;
  rotationSeconds: number;
}

export const DEFAULT_ROOM_VIEW: Readonly<RoomViewSettings> = { pageSize: 25, perScreen: 4, rotationSeconds: 10 };

/** Settings read back from storage: each value kept only if it is one of its choices. */
export function roomViewFrom(saved: unknown): RoomViewSettings {
  const record = typeof saved === "object" && saved !== null ? (saved as Record<string, unknown>) : {};
  const pick = (value: unknown, choices: readonly number[], fallback: number) =>
    typeof value === "number" && choices.includes(value) ? value : fallback;
  return {
    pageSize: pick(record.pageSize, ROOM_PAGE_SIZES, DEFAULT_ROOM_VIEW.pageSize),
    perScreen: pick(record.perScreen, PER_SCREEN_CHOICES, DEFAULT_ROOM_VIEW.perScreen),
    rotationSeconds: pick(record.rotationSeconds, ROTATION_CHOICES, DEFAULT_ROOM_VIEW.rotationSeconds),
  };
}

/** `sequence` with `id` moved one place earlier (`-1`) or later (`1`); unchanged at either end. */
export function moveInSequence(sequence: readonly string[], id: string, step: -1 | 1): string[] {
  const moved = [...sequence];
  const at = moved.indexOf(id);
  const to = at + step;
  if (at < 0 || to < 0 || to >= moved.length) return moved;
  [moved[at], moved[to]] = [moved[to] as string, moved[at] as string];
  return moved;
}
