// F-CTL-5, F-SIP-2, F-WEB-2: the host calls a SIP room system into the
// meeting from the browser. SIPp (Debian's sip-tester) answers and echoes
// the audio, so the host hears their own microphone come back from the
// device's tile; removing the device hangs up the call.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";
import { freeUdpPort } from "../harness/server.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** SIPp's built-in answering scenario with RTP echo, for one call. */
async function startSipp() {
  const dir = await mkdtemp(join(tmpdir(), "yunhui-sipp-"));
  const port = await freeUdpPort();
  const media = await freeUdpPort();
  const messages = join(dir, "messages.log");
  const child = spawn(
    "sipp",
    ["-sn", "uas", "-rtp_echo", "-i", "127.0.0.1", "-p", String(port), "-mi", "127.0.0.1", "-mp", String(media),
      "-m", "1", "-timeout", "120s", "-nostdin", "-trace_msg", "-message_file", messages],
    { stdio: "ignore" },
  );
  const exited = new Promise((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`sipp did not start (Debian package sip-tester): ${e.message}`)));
    child.once("exit", (code) => resolve(code));
  });
  await sleep(500);
  return { port, exited, messages: () => readFile(messages, "utf8").catch(() => ""), kill: () => child.kill("SIGKILL") };
}

test("the host calls a room system, hears it, and hangs up by removing it", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const sipp = await startSipp();
    t.after(() => sipp.kill());
    const hana = await launch("Hana");
    await hana.signIn(server.url, HOST);
    await hana.joinByLink(meeting.join_url);

    await hana.testid("dial-out").click();
    await hana.testid("dial-target").fill(`boardroom@127.0.0.1:${sipp.port}`);
    await hana.testid("dial-dialog-confirm").click();

    await hana.page.waitForFunction(
      () => Object.values(window.yunhui.dials ?? {}).some((d) => d.state === "answered"),
      null,
      { timeout: 20_000 },
    );
    const call = await hana.page.evaluate(() => Object.values(window.yunhui.dials).find((d) => d.state === "answered"));
    const address = `sip:boardroom@127.0.0.1:${sipp.port}`;
    assert.equal(call.target, address);
    const deviceId = call.participantId;
    await hana.testid(`participant-${deviceId}`).getByTestId("participant-name").filter({ hasText: address }).waitFor({ timeout: 10_000 });

    // Hana's fake microphone went to the device and came back through it.
    const [, flowing] = await hana.waitForGrowth(deviceId, "audio");
    const start = flowing.audio.totalAudioEnergy;
    let energy = start;
    for (let i = 0; i < 20 && energy <= start; i++) {
      await sleep(500);
      energy = (await hana.inboundFrom(deviceId)).audio?.totalAudioEnergy ?? 0;
    }
    assert.ok(energy > start, `the device's audio is not silent (energy ${start} → ${energy})`);

    // Removing the device hangs up: SIPp gets its BYE and finishes well.
    await hana.testid(`host-more-${deviceId}`).click();
    await hana.testid(`host-remove-${deviceId}`).click();
    const confirm = hana.page.locator('[data-testid$="-confirm"]').last();
    if (await confirm.isVisible().catch(() => false)) await confirm.click();
    const code = await Promise.race([sipp.exited, sleep(20_000).then(() => "timeout")]);
    const log = await sipp.messages();
    assert.equal(code, 0, `sipp finished its call\n${log}`);
    assert.match(log, /BYE sip:/);
    await hana.page.waitForFunction(
      () => Object.values(window.yunhui.dials ?? {}).some((d) => d.state === "ended"),
      null,
      { timeout: 10_000 },
    );
    await hana.testid(`participant-${deviceId}`).waitFor({ state: "detached", timeout: 10_000 });
  });
});
