// Enterprise login (manual 3.1.3, 4.1.3): what the discovery document
// `/.well-known/yunhui` of the address this page was opened at says, read
// into the endpoints the page uses. Pure (no DOM, no fetch), unit-tested;
// `deployment.ts` fetches the document and holds the result.
//
// The page calls the Open API on its own origin only: signal sends no CORS
// headers, so another origin's API is out of reach (see
// docs/architecture.md, "The web client and its deployment"). A document
// that names another origin's API (the page was opened at another name of
// the same deployment, e.g. a node's address instead of the Gateway's host)
// leaves the page on its own origin, and says which address the deployment
// names. The signaling socket may be anywhere the document says (WebSockets
// are not bound to the page's origin), as long as an `https:` page keeps
// to `wss:`.

import type { Discovery, LoginMethod } from "./proto";

/** The format version this page reads (`yunhui_proto::discovery::VERSION`). */
export const DISCOVERY_VERSION = 1;

/** Where the document is, on the page's origin. */
export const DISCOVERY_PATH = "/.well-known/yunhui";

/** Sign-in methods this page offers when the document lists them. */
const KNOWN_LOGIN_METHODS: readonly LoginMethod[] = ["password"];

/** Longest organisation name shown. */
const ORGANISATION_MAX_CHARS = 100;

/** What the page uses to reach its deployment. */
export interface Endpoints {
  /** Base URL of the Open API (`…/api/v1`), without a trailing `/`. */
  api: string;
  /** URL of the signaling WebSocket. */
  signaling: string;
  /** The sign-in methods offered (those of the document this page knows). */
  login: LoginMethod[];
  /** The organisation's name, shown on the home page. */
  organisation?: string;
  /** Whether the endpoints are the document's (else the page's defaults). */
  discovered: boolean;
  /** Why the page's defaults are used: the document is missing, unreadable or unusable. */
  problem?: string;
  /** The deployment's address as the document names it, when the page was opened at another. */
  namedServer?: string;
}

/** The endpoints of a deployment served at `pageUrl`'s origin, as signal lays them out. */
export function defaultEndpoints(pageUrl: string): Endpoints {
  const page = new URL(pageUrl);
  const ws = page.protocol === "https:" ? "wss:" : "ws:";
  return {
    api: `${page.origin}/api/v1`,
    signaling: `${ws}//${page.host}/api/v1/signal`,
    login: [...KNOWN_LOGIN_METHODS],
    discovered: false,
  };
}

/** The page's defaults, saying why. */
export function fallbackEndpoints(pageUrl: string, problem: string): Endpoints {
  return { ...defaultEndpoints(pageUrl), problem };
}

/** A URL with one of `protocols` and a host, or null. */
function urlOf(value: unknown, protocols: string[]): URL | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.host ? url : null;
  } catch {
    return null;
  }
}

/**
 * The endpoints the document `body` (parsed JSON, untrusted) gives a page
 * opened at `pageUrl`; the page's defaults, with the reason, when it cannot be used.
 */
export function endpointsFrom(body: unknown, pageUrl: string): Endpoints {
  const page = new URL(pageUrl);
  const unusable = (why: string) => fallbackEndpoints(pageUrl, `${DISCOVERY_PATH} ${why}`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) return unusable("is not a discovery document");
  const doc = body as Partial<Record<keyof Discovery, unknown>>;
  if (doc.version !== DISCOVERY_VERSION) {
    return unusable(`has format version ${JSON.stringify(doc.version)}; this page reads ${DISCOVERY_VERSION}`);
  }
  const api = urlOf(doc.api, ["https:", "http:"]);
  if (!api) return unusable("names no http(s) URL as its api");
  const signaling = urlOf(doc.signaling, ["wss:", "ws:"]);
  if (!signaling) return unusable("names no ws(s) URL as its signaling");
  if (doc.login !== undefined && !(Array.isArray(doc.login) && doc.login.every((m) => typeof m === "string"))) {
    return unusable("lists its login methods wrongly");
  }
  const listed = (doc.login as string[] | undefined) ?? ["password"];
  const login = KNOWN_LOGIN_METHODS.filter((method) => listed.includes(method));
  const organisation =
    typeof doc.organisation === "string" && doc.organisation.trim()
      ? doc.organisation.trim().slice(0, ORGANISATION_MAX_CHARS)
      : undefined;
  const apiBase = `${api.origin}${api.pathname.replace(/\/+$/, "")}`;
  if (api.origin !== page.origin) {
    // Another name of the deployment (or a document naming an address
    // browsers cannot open): the page's own origin serves the same API.
    const namedServer = apiBase.replace(/\/api\/v1$/, "");
    return { ...defaultEndpoints(pageUrl), login, organisation, namedServer };
  }
  if (page.protocol === "https:" && signaling.protocol !== "wss:") {
    return unusable("names an unencrypted (ws:) signaling URL for an https page");
  }
  return { api: apiBase, signaling: signaling.href, login, organisation, discovered: true };
}
