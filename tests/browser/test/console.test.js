// F-ADM (management console, /console): the administrator `yunhui up`
// created approves a registration that waits for approval, builds a
// department tree, adds a meeting device, gives a cloud room a member and
// allows it to stream, creates an API key (shown once), switches live
// streaming off and shortens the recordings' retention, and finds all of it
// in the audit log, all through the console; the server's REST answers
// agree. The console switches to Chinese and keeps the choice. A member
// gets "administrators only", a signed-out browser "sign in first". The
// Licence tab, refreshing itself, counts a participant while a meeting
// runs and none once they left, and keeps the peak with its time.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

const COMPANY_DOMAIN = "acme.example";
const BOB = { email: `bob@${COMPANY_DOMAIN}`, password: "bob-password-1", display_name: "Bob Bai 白博" };
const RESEARCH = "Research 研发部";
const AUDIO_LAB = "Audio lab 音频组";
const DEVICE = { name: "Boardroom 3F 三楼会议室", address: "sip:boardroom@10.0.0.5", location: "3F east" };

/** The REST status and error code of a refused request. */
async function refusal(server, method, path, body, token) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${server.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const error = (await response.json().catch(() => ({})))?.error;
  return { status: response.status, code: error?.code, message: error?.message };
}

async function signInOverRest(server, { email, password }) {
  return server.api("POST", "/api/v1/sessions", { login: email, password });
}

test("an administrator approves, builds departments, adds a device, sets a room's members and a key in the console; Chinese on request; members are refused", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, host, launch }) => {
      const admin = server.adminCredentials();
      const { token: adminToken } = await signInOverRest(server, admin);
      const hanaId = host.session.account.id;

      // A registration from the company's domain waits and cannot sign in yet.
      const bob = await server.api("POST", "/api/v1/accounts", BOB);
      assert.equal(bob.status, "pending", "a registration from the company's domain waits");
      const pending = await refusal(server, "POST", "/api/v1/sessions", { login: BOB.email, password: BOB.password });
      assert.deepEqual([pending.status, pending.code], [403, "account_pending"]);

      // Signed out, the console says to sign in first.
      const browser = await launch("Admin");
      const page = browser.page;
      await page.goto(`${server.url}/console`);
      await browser.testid("console-signed-out").waitFor({ timeout: 10_000 });
      assert.match(await browser.testid("console-signed-out").innerText(), /Sign in first/);

      // Signed in, an administrator finds the console from "My meetings".
      await browser.signIn(server.url, admin);
      await page.goto(`${server.url}/meetings`);
      await browser.testid("console-link").click();
      await page.waitForURL(`${server.url}/console`);

      // Accounts: approve Bob; he is active and signs in.
      await browser.testid(`pending-${bob.id}`).waitFor({ timeout: 10_000 });
      assert.match(await browser.testid(`pending-${bob.id}`).innerText(), /Bob Bai/);
      await browser.testid(`approve-${bob.id}`).click();
      await browser.testid(`pending-${bob.id}`).waitFor({ state: "detached", timeout: 10_000 });
      await page.locator(`[data-testid="account-${bob.id}"][data-status="active"]`).waitFor({ timeout: 10_000 });
      assert.match(await browser.testid("accounts-status").innerText(), /can now sign in/);
      const bobSession = await signInOverRest(server, BOB);
      assert.equal(bobSession.account.status, "active");
      const active = await server.api("GET", "/api/v1/admin/accounts?status=active", undefined, adminToken);
      assert.ok(active.some((a) => a.id === bob.id), "Bob is listed as active");

      // Disabled (after a confirmation) he cannot sign in; enabled again he can.
      await browser.testid(`account-disable-${bob.id}`).click();
      await browser.testid("confirm-disable-confirm").click();
      await page.locator(`[data-testid="account-${bob.id}"][data-status="disabled"]`).waitFor({ timeout: 10_000 });
      assert.equal((await refusal(server, "POST", "/api/v1/sessions", { login: BOB.email, password: BOB.password })).code, "account_disabled");
      await browser.testid(`account-enable-${bob.id}`).click();
      await page.locator(`[data-testid="account-${bob.id}"][data-status="active"]`).waitFor({ timeout: 10_000 });

      // Departments: Research at the top, Audio lab under it.
      await browser.testid("console-tab-departments").click();
      const tree = browser.testid("department-tree");
      await tree.waitFor();
      await browser.testid("department-name").fill(RESEARCH);
      await browser.testid("department-create").click();
      const researchItem = tree.getByRole("treeitem", { name: RESEARCH });
      await researchItem.waitFor({ timeout: 10_000 });
      const researchId = (await researchItem.getAttribute("data-testid")).replace(/^department-/, "");
      await browser.testid("department-name").fill(AUDIO_LAB);
      await browser.testid("department-parent").selectOption(researchId);
      await browser.testid("department-create").click();
      const labItem = researchItem.getByRole("treeitem", { name: AUDIO_LAB });
      await labItem.waitFor({ timeout: 10_000 });
      assert.equal(await labItem.getAttribute("data-parent"), researchId, "drawn under its parent");
      assert.equal(await labItem.getAttribute("data-members"), "0");
      const departments = await server.api("GET", "/api/v1/directory/departments", undefined, bobSession.token);
      const research = departments.find((d) => d.name === RESEARCH);
      const lab = departments.find((d) => d.name === AUDIO_LAB);
      assert.ok(research && lab, `both in the directory: ${JSON.stringify(departments)}`);
      assert.equal(research.id, researchId);
      assert.equal(research.parent_id, null);
      assert.equal(lab.parent_id, research.id);

      // Research has a sub-department: deleting it is refused with the server's message.
      await browser.testid(`department-delete-${research.id}`).click();
      await browser.testid("confirm-delete-department-confirm").click();
      await browser.testid("departments-error").filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
      assert.equal(await researchItem.count(), 1, "still there");
      const conflict = await refusal(server, "DELETE", `/api/v1/admin/departments/${research.id}`, undefined, adminToken);
      assert.equal(conflict.status, 409, JSON.stringify(conflict));
      assert.equal(await browser.testid("departments-error").innerText(), conflict.message, "the server's own message");
      // Renamed, then deleted, the lab is gone from the tree and the directory.
      await browser.testid(`department-rename-${lab.id}`).click();
      await browser.testid("rename-department-input").fill("Acoustics 声学组");
      await browser.testid("rename-department-confirm").click();
      await tree.getByRole("treeitem", { name: "Acoustics 声学组" }).waitFor({ timeout: 10_000 });
      const renamed = await server.api("GET", "/api/v1/directory/departments", undefined, adminToken);
      assert.equal(renamed.find((d) => d.id === lab.id)?.name, "Acoustics 声学组");
      assert.equal(renamed.find((d) => d.id === lab.id)?.parent_id, research.id, "renaming keeps the parent");
      await browser.testid(`department-delete-${lab.id}`).click();
      await browser.testid("confirm-delete-department-confirm").click();
      await browser.testid(`department-${lab.id}`).waitFor({ state: "detached", timeout: 10_000 });
      const left = await server.api("GET", "/api/v1/directory/departments", undefined, adminToken);
      assert.deepEqual(left.map((d) => d.name), [RESEARCH]);

      // Devices: a room system, in everyone's directory.
      await browser.testid("console-tab-devices").click();
      await browser.testid("device-name").fill(DEVICE.name);
      await browser.testid("device-address").fill(DEVICE.address);
      await browser.testid("device-location").fill(DEVICE.location);
      await browser.testid("device-add").click();
      const deviceRow = browser.testid("device-rows").getByRole("row").filter({ hasText: DEVICE.name });
      await deviceRow.waitFor({ timeout: 10_000 });
      assert.match(await deviceRow.innerText(), /boardroom@10\.0\.0\.5/);
      const devices = await server.api("GET", "/api/v1/directory/devices", undefined, bobSession.token);
      const device = devices.find((d) => d.name === DEVICE.name);
      assert.ok(device, `in the directory: ${JSON.stringify(devices)}`);
      assert.equal(device.location, DEVICE.location);
      assert.equal(await deviceRow.getAttribute("data-testid"), `device-${device.id}`);

      // Cloud rooms: the administrator's room gets Hana as a member and may stream.
      const room = await server.api("POST", "/api/v1/cloud-rooms", { name: "Admin room 管理员会议室", members: [] }, adminToken);
      const roomId = room.meeting.id;
      await browser.testid("console-tab-rooms").click();
      const roomItem = browser.testid(`cloud-room-${roomId}`);
      await roomItem.waitFor({ timeout: 10_000 });
      await browser.testid(`cloud-room-edit-${roomId}`).click();
      const editor = browser.testid(`cloud-room-editor-${roomId}`);
      await editor.getByTestId("invitee-search").fill("hana");
      await editor.getByTestId(`invitee-option-${hanaId}`).click();
      await editor.getByTestId(`invitee-chip-${hanaId}`).waitFor();
      await browser.testid(`cloud-room-save-${roomId}`).click();
      await roomItem.getByTestId(`cloud-room-member-${hanaId}`).waitFor({ timeout: 10_000 });
      await browser.testid(`cloud-room-streaming-${roomId}`).check();
      await page.locator(`[data-testid="cloud-room-streaming-${roomId}"]:checked`).waitFor();
      const rooms = await eventuallyRest(server, adminToken, (list) => list.find((r) => r.room_id === roomId)?.streaming_allowed === true);
      const saved = rooms.find((r) => r.room_id === roomId);
      assert.deepEqual(saved.members.map((m) => m.account_id), [hanaId], "Hana is the room's member");

      // API keys: created with one scope, its secret shown once, and it works.
      await browser.testid("console-tab-keys").click();
      await browser.testid("api-key-name").fill("Reporting 报表");
      await browser.testid("api-key-scope-meetings_read").check();
      await browser.testid("api-key-create").click();
      const secret = await browser.testid("api-key-secret").inputValue();
      assert.match(secret, /^yk_/);
      assert.match(await browser.testid("api-key-secret-hint").innerText(), /shown only this once/);
      await browser.testid("api-key-rows").getByRole("row").filter({ hasText: "Reporting" }).waitFor();
      const meetings = await fetch(`${server.url}/api/v1/meetings`, { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(meetings.status, 200, "the key reads meetings");

      // Recording: live streaming switched off for the enterprise, recordings kept 14 of the licence's 30 days.
      await browser.testid("console-tab-media").click();
      await page.locator('[data-testid="media-form"][aria-busy="false"]').waitFor({ timeout: 10_000 });
      assert.equal(await browser.testid("media-recording").isChecked(), true);
      assert.equal(await browser.testid("media-streaming").isChecked(), true);
      assert.equal(await browser.testid("media-retention-note").getAttribute("data-days"), "30", "the licence's retention");
      assert.equal(await browser.testid("media-retention").getAttribute("max"), "30");
      await browser.testid("media-streaming").uncheck();
      await browser.testid("media-retention").fill("14");
      await browser.testid("media-save").click();
      await page.locator('[data-testid="media-retention-note"][data-days="14"]').waitFor({ timeout: 10_000 });
      assert.match(await browser.testid("media-status").innerText(), /Saved/);
      const policy = await server.api("GET", "/api/v1/admin/media-policy", undefined, adminToken);
      assert.deepEqual([policy.recording, policy.streaming, policy.retention_days], [true, false, 14]);
      await page.reload();
      await page.locator('[data-testid="media-form"][aria-busy="false"]').waitFor({ timeout: 10_000 });
      assert.equal(await browser.testid("media-streaming").isChecked(), false, "kept after a reload");
      assert.equal(await browser.testid("media-retention").inputValue(), "14");

      // Chinese: chosen in the header, kept after a reload.
      await browser.testid("console-language").selectOption("zh");
      await browser.testid("console-tab-accounts").filter({ hasText: "账号" }).waitFor();
      assert.equal(await browser.testid("console-tab-rooms").innerText(), "云会议室");
      assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
      await page.reload();
      await browser.testid("console-tab-audit").filter({ hasText: "操作日志" }).waitFor({ timeout: 10_000 });

      // The audit log has what was done, with who did it, in Chinese.
      await browser.testid("console-tab-audit").click();
      const approved = page.locator('[data-testid="audit-rows"] tr[data-action="account.approved"]');
      await approved.waitFor({ timeout: 10_000 });
      assert.match(await approved.innerText(), /批准注册/);
      assert.match(await approved.innerText(), /Administrator/);
      for (const action of ["department.created", "device.created", "cloud_room.members_changed", "cloud_room.streaming_changed", "api_key.created", "media_policy.changed"]) {
        assert.ok((await page.locator(`[data-testid="audit-rows"] tr[data-action="${action}"]`).count()) >= 1, `the log has ${action}`);
      }
      await browser.testid("console-language").selectOption("en");
      await browser.testid("console-tab-audit").filter({ hasText: "Audit log" }).waitFor();

      // A member is told the console is for administrators, with a way home.
      const hana = await launch("Hana");
      await hana.signIn(server.url, HOST);
      await hana.page.goto(`${server.url}/meetings`);
      await hana.testid("meetings-page").waitFor();
      assert.equal(await hana.testid("console-link").count(), 0, "members get no console link");
      await hana.page.goto(`${server.url}/console`);
      const refused = hana.testid("console-admins-only");
      await refused.waitFor({ timeout: 10_000 });
      assert.match(await refused.innerText(), /administrators only/);
      assert.equal(await hana.testid("console-tab-accounts").count(), 0, "no tabs for members");
      await hana.testid("console-admins-only-home").click();
      await hana.testid("join-page").waitFor();
    },
    // Registrations from the company's domain wait for approval.
    { createMeeting: false, companyDomains: [COMPANY_DOMAIN] },
  );
});

/** Polls `GET /admin/cloud-rooms` until `accept(list)`. */
async function eventuallyRest(server, token, accept, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let list;
  while (Date.now() < deadline) {
    list = await server.api("GET", "/api/v1/admin/cloud-rooms", undefined, token);
    if (accept(list)) return list;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`cloud rooms never as expected: ${JSON.stringify(list)}`);
}

test("the Licence tab counts a meeting's participant while they are in it, and keeps the peak", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const admin = server.adminCredentials();
    const browser = await launch("Admin");
    const page = browser.page;
    await browser.signIn(server.url, admin);
    await page.goto(`${server.url}/console#licence`);
    const participants = browser.testid("licence-participants");
    await page.locator('[data-testid="licence-participants"][data-value="0"]').waitFor({ timeout: 10_000 });
    assert.equal(await browser.testid("licence-terms").getAttribute("data-value"), "unlimited");
    assert.equal(await browser.testid("licence-meetings").getAttribute("data-value"), "0");

    // A guest joins: the tab, refreshing itself every 5 s, counts them.
    const guest = await launch("Guest");
    await guest.joinByLink(meeting.join_url);
    await page.locator('[data-testid="licence-participants"]:not([data-value="0"])').waitFor({ timeout: 15_000 });
    assert.ok(Number(await participants.getAttribute("data-value")) >= 1);
    assert.equal(await browser.testid("licence-meetings").getAttribute("data-value"), "1");
    await page.locator('[data-testid="licence-peak-participants"]:not([data-value="0"])').waitFor({ timeout: 15_000 });
    assert.match(await browser.testid("licence-peak-participants").innerText(), /^1 on \d{4}-\d\d-\d\d \d\d:\d\d$/);

    // They leave: back to none, the peak stays.
    await guest.testid("leave").click();
    await guest.page.waitForFunction(() => window.yunhui?.state === "left", null, { timeout: 10_000 });
    await page.locator('[data-testid="licence-participants"][data-value="0"]').waitFor({ timeout: 15_000 });
    assert.equal(await browser.testid("licence-peak-participants").getAttribute("data-value"), "1");
  });
});
