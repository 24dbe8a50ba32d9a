// One test's world: a fresh server, a host account with a password-protected
// meeting, and the browsers the test launches. Everything is torn down after
// the test, pass or fail; on failure the server log and browser consoles are
// printed.

import { launchParticipant } from "./browser.js";
import { startServer } from "./server.js";

export const HOST = { email: "host@example.com", password: "host-password-1", displayName: "Hana Host 主持人" };
export const MEETING_PASSWORD = "2468";

/**
 * Runs `body(env)` with cleanup registered on the node:test context.
 * `options` (MeetingOptions fields) go into the created meeting; `serverHost`
 * makes the server listen on (and advertise) that address instead of loopback;
 * `companyDomains` are the enterprise's e-mail domains (`yunhui up --company-domain`).
 * @param {import("node:test").TestContext} t
 * @param {(env: MeetingEnv) => Promise<void>} body
 */
export async function withMeetingEnv(t, body, { createMeeting = true, options, serverHost, companyDomains } = {}) {
  const participants = [];
  let server;
  t.after(async () => {
    await Promise.all(participants.map((p) => p.close()));
    await server?.stop();
  });
  try {
    server = await startServer({ ...(serverHost ? { host: serverHost } : {}), companyDomains });
    const host = await server.createAccount(HOST);
    const meeting = createMeeting
      ? await server.api(
          "POST",
          "/api/v1/meetings",
          { topic: "E2E weekly sync 周会", password: MEETING_PASSWORD, ...(options ? { options } : {}) },
          host.token,
        )
      : null;
    const env = {
      server,
      host,
      meeting,
      async launch(name, options) {
        const participant = await launchParticipant(name, options);
        participants.push(participant);
        return participant;
      },
    };
    await body(env);
  } catch (error) {
    const details = [server ? `--- server log ---\n${server.logTail()}` : "", ...participants.map((p) => p.diagnostics())];
    console.error(details.join("\n"));
    throw error;
  }
}
