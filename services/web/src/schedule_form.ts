// The schedule form (F-MTG-2/3): topic, date and half-hour start, duration,
// time zone, password, location, join mode, repetition with an end date and
// meeting settings. Posts to /api/v1/schedules; the server's own message is
// shown next to the form, and the control it names is marked invalid.

import { ApiRequestError, api } from "./api";
import { h } from "./dom";
import { checkbox, field, select } from "./form_fields";
import { InviteePicker } from "./invitee_picker";
import type { Frequency, JoinMode, MeetingOptions, Recurrence, ScheduleRequest, ScheduledMeeting, Session } from "./proto";
import { LIMITS } from "./proto";
import { WEEKDAYS, addDays, browserTimeZone, halfHours, nextHalfHour, timeZones, weekdayOf } from "./schedule_time";

export interface ScheduleFormHandlers {
  onScheduled: (meeting: ScheduledMeeting) => void;
  onCancel: () => void;
}

const DURATIONS: readonly (readonly [string, string])[] = [
  ["15", "15 min"],
  ["30", "30 min"],
  ["45", "45 min"],
  ["60", "1 h 小时"],
  ["90", "1.5 h 小时"],
  ["120", "2 h 小时"],
  ["180", "3 h 小时"],
  ["240", "4 h 小时"],
  ["480", "8 h 小时"],
];

const REPEATS: readonly (readonly [string, string])[] = [
  ["none", "Does not repeat 不重复"],
  ["daily", "Daily 每天"],
  ["weekly", "Weekly 每周"],
  ["monthly", "Monthly 每月"],
];

const JOIN_MODES: readonly (readonly [JoinMode, string])[] = [
  ["anyone", "Anyone with the number 所有人"],
  ["invitees_only", "Invitees only 仅受邀人员"],
  ["invitees_may_invite", "Invitees, who may invite 受邀人员（可邀请）"],
];

/** Settings offered as checkboxes, with the server's defaults. */
const OPTION_BOXES: readonly { key: keyof Omit<MeetingOptions, "join_mode">; label: string; on: boolean }[] = [
  { key: "waiting_room", label: "Waiting room 等候室", on: false },
  { key: "join_before_host", label: "Join before host 允许先于主持人入会", on: true },
  { key: "mute_on_entry", label: "Mute on entry 入会时静音", on: false },
  { key: "allow_self_unmute", label: "Participants may unmute 允许自我解除静音", on: true },
  { key: "allow_screen_share", label: "Participants may share screen 允许共享屏幕", on: true },
  { key: "allow_chat", label: "Participants may chat 允许聊天", on: true },
  { key: "allow_rename", label: "Participants may rename 允许改名", on: true },
  { key: "entry_exit_chime", label: "Entry/exit chime 入会/离会提示音", on: false },
  { key: "watermark", label: "Watermark 水印", on: false },
  { key: "auto_record", label: "Record automatically 自动云录制", on: false },
  { key: "live_streaming", label: "Live stream 直播", on: false },
  { key: "hide_avatars", label: "Hide avatars 隐藏头像", on: false },
  { key: "notify_invitees", label: "Notify invitees 通知受邀人员", on: false },
  { key: "webinar", label: "Webinar 网络研讨会", on: false },
];

export function renderScheduleForm(session: Session, handlers: ScheduleFormHandlers): HTMLElement {
  const zone = browserTimeZone();
  const start = nextHalfHour(zone);

  const topic = h("input", { name: "topic", maxlength: String(LIMITS.topic_chars), value: `${session.account.display_name}'s meeting` });
  const date = h("input", { name: "start", type: "date", required: true, value: start.date });
  const time = select("start_time", halfHours().map((t) => [t, t] as const), start.time);
  const duration = select("duration_minutes", DURATIONS, "60");
  const timeZone = select("time_zone", timeZones().map((z) => [z, z] as const), zone);
  const password = h("input", { name: "password", type: "text", autocomplete: "off", maxlength: String(LIMITS.meeting_password_max_chars), placeholder: `Optional 可选 (${LIMITS.meeting_password_min_chars}–${LIMITS.meeting_password_max_chars})` });
  const location = h("input", { name: "location", maxlength: String(LIMITS.location_chars), placeholder: "Optional 可选" });
  const joinMode = select("join_mode", JOIN_MODES, "anyone");
  const invitees = new InviteePicker(session.token, () => new Set([session.account.id]));

  const repeat = select("recurrence", REPEATS, "none");
  const interval = h("input", { name: "interval", type: "number", min: "1", max: "99", value: "1" });
  const until = h("input", { name: "until", type: "date", value: addDays(start.date, 28) });
  const dayBoxes = WEEKDAYS.map((w) => ({ day: w.day, ...checkbox(w.label, `weekday-${w.day}`, false) }));
  const weekdays = h("fieldset", { class: "weekdays" }, h("legend", {}, "On 重复日"), ...dayBoxes.map((b) => b.label));
  const repetition = h("div", { class: "repetition" }, field("Every 间隔", interval), weekdays, field("Ends on 结束日期", until));

  const optionBoxes = OPTION_BOXES.map((o) => ({ key: o.key, ...checkbox(o.label, o.key, o.on) }));
  const error = h("div", { class: "error", testid: "schedule-error", role: "alert", "aria-live": "polite" });
  const submit = h("button", { class: "primary", type: "submit" }, "Schedule 预约");

  const syncRepetition = () => {
    repetition.hidden = repeat.value === "none";
    weekdays.hidden = repeat.value !== "weekly";
    // Weekly starts on the start date's weekday until the person picks others.
    if (repeat.value === "weekly" && !dayBoxes.some((b) => b.input.checked)) {
      const day = weekdayOf(date.value || start.date);
      for (const b of dayBoxes) b.input.checked = b.day === day;
    }
  };
  repeat.addEventListener("change", syncRepetition);
  syncRepetition();

  const controls: Record<string, HTMLElement> = {
    topic, start: date, duration_minutes: duration, time_zone: timeZone, password, location, recurrence: repeat,
  };

  function recurrence(): Recurrence | undefined {
    if (repeat.value === "none") return undefined;
    const rule: Recurrence = {
      frequency: repeat.value as Frequency,
      interval: Number(interval.value) || 1,
      weekdays: repeat.value === "weekly" ? dayBoxes.filter((b) => b.input.checked).map((b) => b.day) : [],
      until: until.value,
    };
    return rule;
  }

  function request(): ScheduleRequest {
    const options = { join_mode: joinMode.value as JoinMode } as MeetingOptions;
    for (const box of optionBoxes) options[box.key] = box.input.checked;
    const body: ScheduleRequest = {
      start: `${date.value}T${time.value}`,
      duration_minutes: Number(duration.value),
      time_zone: timeZone.value,
      invitees: invitees.selected(),
      devices: [],
      options,
    };
    if (topic.value.trim()) body.topic = topic.value.trim();
    if (password.value) body.password = password.value;
    if (location.value.trim()) body.location = location.value.trim();
    const rule = recurrence();
    if (rule) body.recurrence = rule;
    return body;
  }

  function showError(message: string): void {
    error.textContent = message;
    // Most server messages start with the field they are about ("start: …");
    // others only mention it ("a meeting password has …").
    const keys = Object.keys(controls);
    const name = /^([a-z_]+):/.exec(message)?.[1] ?? keys.find((k) => new RegExp(`\\b${k}\\b`).test(message)) ?? "";
    for (const [key, control] of Object.entries(controls)) {
      if (key === name) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
    error.scrollIntoView({ block: "nearest" });
  }

  async function onSubmit(event: Event): Promise<void> {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      handlers.onScheduled(await api.schedule(session.token, request()));
    } catch (e) {
      showError(e instanceof ApiRequestError || e instanceof Error ? e.message : String(e));
      submit.disabled = false;
    }
  }

  return h(
    "form",
    { class: "card schedule-card", testid: "schedule-form", "aria-labelledby": "schedule-title", onsubmit: (e: Event) => void onSubmit(e) },
    h("h1", { id: "schedule-title" }, "Schedule a meeting 预约会议"),
    field("Topic 会议主题", topic),
    h("div", { class: "row" }, field("Date 日期", date), field("Start time 开始时间", time), field("Duration 时长", duration)),
    field("Time zone 时区", timeZone),
    h("div", { class: "row" }, field("Meeting password 会议密码", password), field("Location 会议地点", location)),
    h("div", { class: "field" }, h("span", {}, "Invitees 参会人"), invitees.root),
    field("Who may join 入会范围", joinMode),
    field("Repeat 重复", repeat),
    repetition,
    h("fieldset", { class: "options" }, h("legend", {}, "Settings 会议设置"), ...optionBoxes.map((b) => b.label)),
    error,
    h(
      "div",
      { class: "dialog-actions" },
      submit,
      h("button", { class: "secondary", type: "button", onclick: () => handlers.onCancel() }, "Cancel 取消"),
    ),
  );
}
