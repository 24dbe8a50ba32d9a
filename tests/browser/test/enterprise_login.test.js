// Enterprise login (manual 3.1.3, 4.1.3; F-WEB-1): a user given only the
// deployment's bare address signs in and joins. The page reads
// `/.well-known/yunhui` from the address it was opened at and uses the API,
// signaling URL, sign-in methods and organisation it names; a missing or
// unusable document leaves the page on its own address, saying why.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** Everything `participant`'s page requests over HTTP and every WebSocket it opens, from now on. */
function watchTraffic(participant) {
  const traffic = { requests: [], sockets: [] };
  participant.page.on("request", (request) => traffic.requests.push(request.url()));
  participant.page.on("websocket", (socket) => traffic.sockets.push(socket.url()));
  return traffic;
}

/** Serves `doc(served)` (or a raw answer) at the page's `/.well-known/yunhui` instead of the server's document. */
async function serveDiscovery(page, answer) {
  await page.unroute("**/.well-known/yunhui");
  await page.route("**/.well-known/yunhui", async (route) => {
    const served = await (await route.fetch()).json();
    const reply = answer(served);
    await route.fulfill(reply.status ? reply : { json: reply });
  });
}

test("given only the bare address, a user signs in with a password and joins at the discovered signaling URL", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, launch }) => {
      const port = server.ports.http;
      const bare = `${server.url}/`;
      const served = await server.api("GET", "/.well-known/yunhui");
      assert.equal(served.signaling, `ws://127.0.0.1:${port}/api/v1/signal`, "yunhui up's own document");

      // The host's address names its signaling under another name of the
      // same server (as a Gateway may put signaling on a host of its own):
      // a page that built the URL from its own address would use 127.0.0.1.
      const discoveredSignaling = `ws://localhost:${port}/api/v1/signal`;
      const host = await launch("Host");
      const hostTraffic = watchTraffic(host);
      await serveDiscovery(host.page, (doc) => ({ ...doc, signaling: discoveredSignaling, organisation: "Acme 示例公司" }));
      await host.page.goto(bare);
      assert.equal(host.page.url(), bare, "opened at the bare address: no path, no query");
      await host.testid("signin-login").waitFor({ timeout: 10_000 });
      assert.equal(await host.testid("organisation").innerText(), "Acme 示例公司", "the document's organisation is shown");
      assert.equal(await host.testid("discovery-notice").count(), 0, "no notice: the document was usable");
      const deployment = await host.page.evaluate(() => window.yunhui.deployment);
      assert.equal(deployment.discovered, true);
      assert.equal(deployment.signaling, discoveredSignaling);
      assert.equal(deployment.api, `${server.url}/api/v1`);

      await host.testid("signin-login").fill(HOST.email);
      await host.testid("signin-password").fill(HOST.password);
      await host.testid("signin-submit").click();
      await host.testid("signed-in-as").waitFor({ timeout: 10_000 });
      await host.testid("new-meeting-password").fill("1357");
      await host.testid("new-meeting").click();
      const hostId = await host.waitJoined();
      const number = await host.page.evaluate(() => window.yunhui.meetingNumber);

      assert.ok(hostTraffic.requests.includes(`${server.url}/.well-known/yunhui`), "the page read its address's document");
      const firstApiCall = hostTraffic.requests.findIndex((url) => url.startsWith(`${server.url}/api/v1/`));
      assert.ok(
        firstApiCall > hostTraffic.requests.indexOf(`${server.url}/.well-known/yunhui`),
        "the document was read before the first API call",
      );
      assert.ok(hostTraffic.sockets.length >= 1, "signaling sockets were opened");
      assert.deepEqual(
        [...new Set(hostTraffic.sockets)],
        [discoveredSignaling],
        "every signaling socket went to the discovered URL, none to one built from the page's address",
      );

      // A guest opens the same bare address with the server's own document.
      const guest = await launch("Guest 访客");
      const guestTraffic = watchTraffic(guest);
      await guest.joinByNumber(server.url, number, "1357");
      const guestId = await guest.waitJoined();
      assert.deepEqual([...new Set(guestTraffic.sockets)], [served.signaling], "the guest used the served document's signaling");
      await guest.waitForMediaFrom(hostId);
      await host.waitForMediaFrom(guestId);
    },
    { createMeeting: false },
  );
});

test("a missing, malformed or foreign document: the page says why and works on its own address; only offered sign-in methods show", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, launch }) => {
      const bare = `${server.url}/`;
      const user = await launch("User");
      const own = `ws://127.0.0.1:${server.ports.http}/api/v1/signal`;

      // No document at all.
      await serveDiscovery(user.page, () => ({ status: 404, body: "not found" }));
      await user.page.goto(bare);
      const notice = user.testid("discovery-notice");
      await notice.waitFor({ timeout: 10_000 });
      assert.match(await notice.innerText(), /did not describe its deployment .*HTTP 404/);
      assert.equal(await user.page.evaluate(() => window.yunhui.deployment.signaling), own);
      await user.signIn(server.url, HOST);
      assert.equal(await user.testid("signed-in-as").innerText(), HOST.displayName, "signing in still works on the page's address");
      await user.testid("sign-out").click();

      // Not JSON, then a document with a signaling URL that is not ws(s).
      await serveDiscovery(user.page, () => ({ status: 200, contentType: "text/html", body: "<html></html>" }));
      await user.page.goto(bare);
      await notice.waitFor({ timeout: 10_000 });
      assert.match(await notice.innerText(), /is not JSON/);
      await serveDiscovery(user.page, (doc) => ({ ...doc, signaling: "ftp://127.0.0.1/signal" }));
      await user.page.goto(bare);
      await notice.waitFor({ timeout: 10_000 });
      assert.match(await notice.innerText(), /signaling/);
      assert.equal(await user.page.evaluate(() => window.yunhui.deployment.signaling), own);

      // An API on another origin (the page opened at another name of the
      // deployment): the page stays on its own origin and names the other.
      await serveDiscovery(user.page, (doc) => ({ ...doc, api: "https://meet.acme.example/api/v1" }));
      await user.page.goto(bare);
      await notice.waitFor({ timeout: 10_000 });
      assert.equal(await user.testid("discovery-named-server").getAttribute("href"), "https://meet.acme.example");
      assert.equal(await user.page.evaluate(() => window.yunhui.deployment.api), `${server.url}/api/v1`);
      await user.testid("signin-login").waitFor();

      // No sign-in method this page knows: no password form.
      await serveDiscovery(user.page, (doc) => ({ ...doc, login: ["sso"] }));
      await user.page.goto(bare);
      await user.testid("signin-unavailable").waitFor({ timeout: 10_000 });
      assert.equal(await user.testid("signin-login").count(), 0, "no password form when password is not offered");
      assert.equal(await notice.count(), 0);
    },
    { createMeeting: false },
  );
});
