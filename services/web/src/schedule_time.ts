// Dates, half-hour start times and time zones for the schedule form and the
// meeting list. Scheduled times are wall-clock times in an IANA zone; the
// server turns them into instants (Unix seconds).

import type { Weekday } from "./proto";

export const WEEKDAYS: readonly { day: Weekday; label: string }[] = [
  { day: "mon", label: "Mon 周一" },
  { day: "tue", label: "Tue 周二" },
  { day: "wed", label: "Wed 周三" },
  { day: "thu", label: "Thu 周四" },
  { day: "fri", label: "Fri 周五" },
  { day: "sat", label: "Sat 周六" },
  { day: "sun", label: "Sun 周日" },
];

/** The browser's own IANA zone. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Every zone the browser knows, the browser's own and UTC included. */
export function timeZones(): string[] {
  const known = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return [...new Set([...known, browserTimeZone(), "UTC"])].sort();
}

/** "00:00", "00:30", … "23:30". */
export function halfHours(): string[] {
  const slots: string[] = [];
  for (let minutes = 0; minutes < 24 * 60; minutes += 30) slots.push(`${pad(minutes / 60)}:${pad(minutes % 60)}`);
  return slots;
}

export interface WallClock {
  /** `YYYY-MM-DD` */
  date: string;
  /** `HH:MM` (24-hour) */
  time: string;
}

/** The wall clock in `zone` at `epochSeconds`. */
export function wallClock(epochSeconds: number, zone: string): WallClock {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(epochSeconds * 1000));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return { date: `${part("year")}-${part("month")}-${part("day")}`, time: `${part("hour")}:${part("minute")}` };
}

/** The first half hour at least 15 minutes from now, on the wall clock of `zone`. */
export function nextHalfHour(zone: string, nowMs = Date.now()): WallClock {
  const step = 30 * 60;
  const seconds = Math.ceil((nowMs / 1000 + 15 * 60) / step) * step;
  return wallClock(seconds, zone);
}

/** `YYYY-MM-DD` plus `days` (calendar arithmetic, no zone involved). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Day of the week of a `YYYY-MM-DD` date. */
export function weekdayOf(date: string): Weekday {
  const index = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
  return WEEKDAYS[index]?.day ?? "mon";
}

/** "Thu 2026-12-03 09:00" for an instant, in `zone`. */
export function formatInZone(epochSeconds: number, zone: string): string {
  const { date, time } = wallClock(epochSeconds, zone);
  const label = WEEKDAYS.find((w) => w.day === weekdayOf(date))?.label.split(" ")[0] ?? "";
  return `${label} ${date} ${time}`;
}

function pad(n: number): string {
  return String(Math.floor(n)).padStart(2, "0");
}
