// Unit tests of how the discovery document (`/.well-known/yunhui`) becomes
// the endpoints the page uses.

import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultEndpoints, endpointsFrom } from "../src/discovery.js";

const page = "http://10.0.0.5:8080/";
const doc = {
  version: 1,
  api: "http://10.0.0.5:8080/api/v1",
  signaling: "ws://10.0.0.5:8080/api/v1/signal",
  login: ["password"],
};

test("a document on the page's origin gives its API and signaling", () => {
  const endpoints = endpointsFrom({ ...doc, signaling: "ws://signal.example:9000/ws", organisation: " Acme 公司 " }, page);
  assert.equal(endpoints.discovered, true);
  assert.equal(endpoints.api, "http://10.0.0.5:8080/api/v1");
  assert.equal(endpoints.signaling, "ws://signal.example:9000/ws");
  assert.deepEqual(endpoints.login, ["password"]);
  assert.equal(endpoints.organisation, "Acme 公司");
  assert.equal(endpoints.problem, undefined);
});

test("the API's base keeps its path without a trailing slash", () => {
  const endpoints = endpointsFrom({ ...doc, api: "http://10.0.0.5:8080/meet/api/v1/" }, page);
  assert.equal(endpoints.api, "http://10.0.0.5:8080/meet/api/v1");
});

test("only the sign-in methods offered and known are kept; none listed means password", () => {
  assert.deepEqual(endpointsFrom({ ...doc, login: [] }, page).login, []);
  assert.deepEqual(endpointsFrom({ ...doc, login: ["sso", "password"] }, page).login, ["password"]);
  assert.deepEqual(endpointsFrom({ ...doc, login: ["sso"] }, page).login, []);
  const { login: _login, ...withoutLogin } = doc;
  assert.deepEqual(endpointsFrom(withoutLogin, page).login, ["password"]);
});

test("an unusable document leaves the page's defaults and says why", () => {
  const cases: [unknown, RegExp][] = [
    ["<html>", /not a discovery document/],
    [null, /not a discovery document/],
    [[doc], /not a discovery document/],
    [{ ...doc, version: 2 }, /format version 2/],
    [{ ...doc, api: "ftp://10.0.0.5/api/v1" }, /api/],
    [{ ...doc, api: "not a url" }, /api/],
    [{ ...doc, signaling: "http://10.0.0.5:8080/api/v1/signal" }, /signaling/],
    [{ ...doc, signaling: 42 }, /signaling/],
    [{ ...doc, login: "password" }, /login methods/],
  ];
  for (const [body, why] of cases) {
    const endpoints = endpointsFrom(body, page);
    assert.equal(endpoints.discovered, false, JSON.stringify(body));
    assert.match(endpoints.problem ?? "", why, JSON.stringify(body));
    assert.equal(endpoints.api, "http://10.0.0.5:8080/api/v1");
    assert.equal(endpoints.signaling, "ws://10.0.0.5:8080/api/v1/signal");
  }
});

test("an https page refuses unencrypted signaling", () => {
  const endpoints = endpointsFrom(
    { ...doc, api: "https://meet.example/api/v1", signaling: "ws://meet.example/api/v1/signal" },
    "https://meet.example/",
  );
  assert.match(endpoints.problem ?? "", /unencrypted/);
  assert.equal(endpoints.signaling, "wss://meet.example/api/v1/signal");
});

test("an API on another origin leaves the page on its own, naming the deployment's address", () => {
  const endpoints = endpointsFrom(
    { ...doc, api: "https://meet.acme.example/api/v1", signaling: "wss://meet.acme.example/api/v1/signal", login: [] },
    page,
  );
  assert.equal(endpoints.discovered, false);
  assert.equal(endpoints.problem, undefined);
  assert.equal(endpoints.namedServer, "https://meet.acme.example");
  assert.equal(endpoints.api, "http://10.0.0.5:8080/api/v1");
  assert.equal(endpoints.signaling, "ws://10.0.0.5:8080/api/v1/signal");
  assert.deepEqual(endpoints.login, [], "the same deployment's sign-in methods");
});

test("the defaults follow the page's scheme", () => {
  assert.deepEqual(defaultEndpoints("https://meet.example/j/123?k=x"), {
    api: "https://meet.example/api/v1",
    signaling: "wss://meet.example/api/v1/signal",
    login: ["password"],
    discovered: false,
  });
});
