// F-WEB-2 (schedule form and meeting list): the administrator `yunhui up`
// created signs in, schedules a weekly meeting in another time zone than the
// browser's, sees each occurrence on the browser's clock in "My meetings",
// reads the invitation in both languages, joins from the list and, after
// ending the meeting, finds it in the history.

import assert from "node:assert/strict";
import { test } from "node:test";
import { withMeetingEnv } from "../harness/meeting_env.js";

const BROWSER_ZONE = "Europe/Berlin";
const MEETING_ZONE = "Asia/Shanghai"; // UTC+8 all year
const TOPIC = "Design review 设计周会";

/** `YYYY-MM-DD HH:MM` of an instant (ms) on the wall clock of `zone`. */
function wallClock(ms, zone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const p = (type) => parts.find((x) => x.type === type).value;
  return `${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")}`;
}

/** The first Tuesday at least 3 days after today (UTC calendar), as `YYYY-MM-DD`. */
function nextTuesday() {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + 3);
  while (d.getUTCDay() !== 2) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

const ymd = (d) => d.toISOString().slice(0, 10);

test("admin schedules a weekly meeting, sees it on the local clock, copies the invitation, joins from the list and finds it in the history", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, launch }) => {
      const admin = server.adminCredentials();
      const host = await launch("Admin", { timezoneId: BROWSER_ZONE });
      const page = host.page;
      await host.signIn(server.url, admin);
      await page.getByRole("button", { name: "My meetings 我的会议" }).click();
      await page.getByRole("list", { name: /Upcoming meetings/ }).getByText(/No upcoming meetings/).waitFor();
      await page.getByRole("button", { name: /Schedule a meeting/ }).click();

      // Defaults: the account's name in the topic, the browser's zone, a half-hour start.
      const form = page.getByRole("form", { name: /Schedule a meeting/ });
      assert.equal(await form.getByLabel("Topic 会议主题").inputValue(), "Administrator's meeting");
      assert.equal(await form.getByLabel("Time zone 时区").inputValue(), BROWSER_ZONE);
      assert.match(await form.getByLabel("Start time 开始时间").inputValue(), /^\d\d:(00|30)$/);

      // Tuesdays and Thursdays at 10:00 Shanghai time for two weeks: 5 occurrences.
      const first = nextTuesday();
      const until = new Date(first);
      until.setUTCDate(until.getUTCDate() + 14);
      await form.getByLabel("Topic 会议主题").fill(TOPIC);
      await form.getByLabel("Date 日期").fill(ymd(first));
      await form.getByLabel("Start time 开始时间").selectOption("10:00");
      await form.getByLabel("Duration 时长").selectOption("60");
      await form.getByLabel("Time zone 时区").selectOption(MEETING_ZONE);
      await form.getByLabel("Repeat 重复").selectOption("weekly");
      assert.ok(await form.getByLabel("Tue 周二").isChecked(), "weekly starts on the start's weekday");
      await form.getByLabel("Thu 周四").check();
      await form.getByLabel("Ends on 结束日期").fill(ymd(until));
      await form.getByLabel("Mute on entry 入会时静音").check();

      // A password the server refuses: its message is shown and the field marked.
      await form.getByLabel("Meeting password 会议密码").fill("12");
      await form.getByRole("button", { name: "Schedule 预约" }).click();
      const error = form.getByRole("alert");
      await error.filter({ hasText: /password/ }).waitFor({ timeout: 10_000 });
      assert.match(await error.innerText(), /password has 4 to 16/, "the server's own message");
      assert.equal(await form.getByLabel("Meeting password 会议密码").getAttribute("aria-invalid"), "true");

      await form.getByLabel("Meeting password 会议密码").fill("2468");
      await form.getByRole("button", { name: "Schedule 预约" }).click();
      await page.getByRole("status").filter({ hasText: TOPIC }).waitFor({ timeout: 10_000 });

      // The server's view, for the number and the expected instants.
      const { token } = await server.api("POST", "/api/v1/sessions", { login: admin.email, password: admin.password });
      const occurrences = (await server.api("GET", "/api/v1/upcoming", undefined, token)).filter((o) => o.topic === TOPIC);
      assert.equal(occurrences.length, 5);
      const number = occurrences[0].number;
      const digits = (s) => s.replace(/\s/g, "");

      const items = page.getByRole("list", { name: /Upcoming meetings/ }).getByRole("listitem").filter({ hasText: TOPIC });
      await items.first().waitFor();
      assert.equal(await items.count(), 5);
      const dayOffsets = [0, 2, 7, 9, 14]; // Tue, Thu, Tue, Thu, Tue
      for (const [i, offset] of dayOffsets.entries()) {
        const text = await items.nth(i).innerText();
        // 10:00 in Shanghai is 02:00 UTC; the list shows it on Berlin's clock.
        const startMs = first.getTime() + offset * 86_400_000 + 2 * 3_600_000;
        assert.equal(occurrences[i].starts_at * 1000, startMs, "the server placed it at 10:00 Shanghai");
        assert.ok(text.includes(wallClock(startMs, BROWSER_ZONE)), `local start ${wallClock(startMs, BROWSER_ZONE)} in:\n${text}`);
        assert.ok(text.includes(BROWSER_ZONE), text);
        assert.ok(text.includes(`${ymd(new Date(startMs))} 10:00 ${MEETING_ZONE}`), `meeting's own time in:\n${text}`);
        assert.ok(digits(text).includes(number), `number in:\n${text}`);
      }

      // The invitation, in Chinese first, then in English.
      await items.first().getByRole("button", { name: /Copy invitation/ }).click();
      const dialog = page.getByRole("dialog", { name: /Invitation/ });
      const text = dialog.getByLabel(/Invitation text/);
      await page.waitForFunction(() => document.querySelector(".invitation-text")?.value.includes("会议号"));
      const zh = await text.inputValue();
      assert.ok(zh.split("\n").includes(`会议号:${number}`), zh);
      assert.ok(zh.split("\n").includes("时区:(中国标准时间 Asia/Shanghai):GMT+0800"), zh);
      assert.ok(zh.includes("会议密码：2468"), zh);
      await dialog.getByRole("button", { name: "English" }).click();
      await page.waitForFunction(() => document.querySelector(".invitation-text")?.value.includes("Meeting number"));
      const en = await text.inputValue();
      assert.ok(en.split("\n").includes(`Meeting number: ${number}`), en);
      assert.ok(en.split("\n").includes("Time zone: (China Standard Time, Asia/Shanghai) GMT+0800"), en);
      assert.equal(await dialog.getByRole("button", { name: "English" }).getAttribute("aria-pressed"), "true");
      await dialog.getByRole("button", { name: "Copy 复制" }).click();
      await dialog.getByRole("status").filter({ hasText: "Copied" }).waitFor();
      await dialog.getByRole("button", { name: "Close 关闭" }).click();
      await dialog.waitFor({ state: "detached" });

      // Join from the list: the meeting page, as its host.
      await items.first().getByRole("button", { name: "Join 加入" }).click();
      const participantId = await host.waitJoined();
      assert.equal(await page.evaluate(() => window.yunhui.meetingNumber), number);
      const me = await page.evaluate((id) => window.yunhui.participants.find((p) => p.id === id), participantId);
      assert.equal(me.role, "host");

      // Held early and ended: it is in the history, and the series keeps its occurrences.
      await host.testid("end-meeting").click();
      await host.testid("meeting-ended").waitFor({ timeout: 10_000 });
      await page.goto(`${server.url}/meetings`);
      const held = page.getByRole("list", { name: /History/ }).getByRole("listitem").filter({ hasText: TOPIC });
      await held.waitFor({ timeout: 10_000 });
      assert.ok(digits(await held.innerText()).includes(number), await held.innerText());
      assert.equal(await items.count(), 5, "the series goes on");
    },
    { createMeeting: false },
  );
});
