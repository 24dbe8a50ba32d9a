// The deployment this page talks to, discovered at start-up from the
// address it was opened at (`/.well-known/yunhui`, read by `discovery.ts`):
// the Open API's base (`api.ts`), the signaling URL (`signaling.ts`), the
// sign-in methods and the organisation's name (`join_page.ts`). Until
// `discoverDeployment()` has run, and when the document is missing or
// unusable, the page's own origin with signal's usual paths; a notice then
// says why.

import { DISCOVERY_PATH, defaultEndpoints, endpointsFrom, fallbackEndpoints, type Endpoints } from "./discovery";
import { exposeForInspection } from "./inspection";

/** How long the document may take before the page goes on without it. */
const DISCOVERY_TIMEOUT_MS = 5_000;

let current: Endpoints = defaultEndpoints(location.href);

/** What the page uses now. */
export function deployment(): Endpoints {
  return current;
}

/** Reads the discovery document of the page's origin; never fails (falls back, saying why). */
export async function discoverDeployment(): Promise<Endpoints> {
  current = await read();
  exposeForInspection({ deployment: current });
  showNotice(current);
  return current;
}

async function read(): Promise<Endpoints> {
  const page = location.href;
  const controller = new AbortController();
  const timer = window.setTimeout(() => controller.abort(), DISCOVERY_TIMEOUT_MS);
  try {
    const response = await fetch(DISCOVERY_PATH, {
      headers: { Accept: "application/json" },
      cache: "no-store",
      signal: controller.signal,
    });
    if (!response.ok) return fallbackEndpoints(page, `${DISCOVERY_PATH} answered HTTP ${response.status}`);
    let body: unknown;
    try {
      body = JSON.parse(await response.text());
    } catch {
      return fallbackEndpoints(page, `${DISCOVERY_PATH} is not JSON`);
    }
    return endpointsFrom(body, page);
  } catch {
    return fallbackEndpoints(page, `${DISCOVERY_PATH} could not be read`);
  } finally {
    window.clearTimeout(timer);
  }
}

/** A line above every page when the document could not be used or names another address. */
function showNotice(endpoints: Endpoints): void {
  document.querySelector('[data-testid="discovery-notice"]')?.remove();
  let notice: HTMLElement;
  if (endpoints.problem) {
    notice = document.createElement("div");
    notice.className = "discovery-notice problem";
    notice.setAttribute("role", "alert");
    notice.textContent =
      `This address did not describe its deployment (${endpoints.problem}): the page uses ${location.origin} as it is. ` +
      `未能读取本地址的部署信息，按当前地址连接。`;
  } else if (endpoints.namedServer) {
    notice = document.createElement("div");
    notice.className = "discovery-notice";
    notice.setAttribute("role", "status");
    const link = document.createElement("a");
    link.href = endpoints.namedServer;
    link.textContent = endpoints.namedServer;
    link.setAttribute("data-testid", "discovery-named-server");
    notice.append(
      `This page was opened at ${location.origin}; the deployment names `,
      link,
      ` as its address. Signing in and meetings use ${location.origin}. 本部署登记的地址为上述地址，当前页面按本地址连接。`,
    );
  } else {
    return;
  }
  notice.setAttribute("data-testid", "discovery-notice");
  document.body.prepend(notice);
}
