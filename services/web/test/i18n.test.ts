// Unit tests of the console's string table: every text in both languages
// with the same parameters, parameters filled in, and the language chosen
// from the page's override or the browser.

import assert from "node:assert/strict";
import { test } from "node:test";
import { STRINGS, fill, pickLanguage, translate, type StringKey } from "../src/i18n.js";

const KEYS = Object.keys(STRINGS) as StringKey[];
const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every key has a Chinese and an English text", () => {
  assert.ok(KEYS.length > 50, `the table has the console's strings (${KEYS.length})`);
  for (const key of KEYS) {
    const entry: { en?: unknown; zh?: unknown } = STRINGS[key];
    assert.equal(typeof entry.en, "string", `${key}: en`);
    assert.equal(typeof entry.zh, "string", `${key}: zh`);
    assert.ok(String(entry.en).trim(), `${key}: en is empty`);
    assert.ok(String(entry.zh).trim(), `${key}: zh is empty`);
  }
});

test("both languages of a key take the same parameters", () => {
  for (const key of KEYS) {
    assert.deepEqual(params(STRINGS[key].zh), params(STRINGS[key].en), key);
  }
});

test("Chinese texts are Chinese where they are words", () => {
  const han = /\p{Script=Han}/u;
  // Keys whose text is the same in both: language names and an address format.
  const same = new Set<StringKey>(["language.zh", "language.en", "devices.addressExample"]);
  const words = KEYS.filter((key) => /[a-z]{3}/i.test(STRINGS[key].en.replace(/\{\w+\}/g, "")) && !same.has(key));
  for (const key of words) assert.ok(han.test(STRINGS[key].zh), `${key}: ${STRINGS[key].zh}`);
});

test("parameters are filled in, in both languages, and none is left over", () => {
  assert.equal(translate("en", "licence.ports", { ports: 50 }), "50 participants at once");
  assert.equal(translate("zh", "licence.ports", { ports: 50 }), "并发 50 方");
  assert.equal(translate("en", "licence.rooms", { rooms: 3, capacity: 25 }), "3 meetings at once, 25 participants each");
  assert.equal(translate("zh", "accounts.rejectTitle", { name: "Bob" }), "拒绝 Bob 的注册？");
  for (const key of KEYS) {
    const values = Object.fromEntries(params(STRINGS[key].en).map((name) => [name, `<${name}>`]));
    for (const language of ["en", "zh"] as const) {
      const text = translate(language, key, values);
      assert.doesNotMatch(text, /\{\w+\}/, `${language} ${key}: ${text}`);
      for (const value of Object.values(values)) assert.ok(text.includes(value), `${language} ${key} shows ${value}`);
    }
  }
});

test("fill leaves unknown names and keeps repeated ones", () => {
  assert.equal(fill("{a} and {a}, not {b}", { a: 1 }), "1 and 1, not {b}");
  assert.equal(fill("no params"), "no params");
  assert.equal(fill("{n}", { n: 0 }), "0");
});

test("the override wins; otherwise zh* browsers get Chinese and everyone else English", () => {
  assert.equal(pickLanguage("zh", "en-US"), "zh");
  assert.equal(pickLanguage("en", "zh-CN"), "en");
  assert.equal(pickLanguage(null, "zh-CN"), "zh");
  assert.equal(pickLanguage(null, "ZH-tw"), "zh");
  assert.equal(pickLanguage(null, "zh"), "zh");
  assert.equal(pickLanguage("fr", "zh-Hans"), "zh", "an unknown override is ignored");
  assert.equal(pickLanguage(undefined, "en-GB"), "en");
  assert.equal(pickLanguage(null, "ja-JP"), "en");
  assert.equal(pickLanguage(null, undefined), "en");
});
