// What the party pages (citizen, counter, auditor) share on screen: the page's messages,
// DOM building (text only: a value from the server is never parsed as HTML), names of
// catalog entries and parties, local times, and status lines that name an attack as one.

import { pageData, translator } from "./pages/page.js";

const data = pageData();
export const lang = data.lang;
export const t = translator(data.messages);
export const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes); on* are listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(name, value === true ? "" : value);
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function badge(text, kind = "ok") {
  return el("span", { class: `badge ${kind}` }, text);
}

export function fillRows(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

export function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, label]) => el("option", { value }, label)));
}

/** Show `text` in a status element, styled ok or bad. */
export function say(element, text, ok = true) {
  element.textContent = text;
  element.classList.toggle("ok", ok);
  element.classList.toggle("bad", !ok);
}

/** The localized name of a catalog entry ({names: {zh, en}}). */
export function named(def) {
  return (def && def.names && (def.names[lang] || def.names.en)) || (def && (def.class || def.scenario)) || "";
}

const parties = new Map();

/** A party's display name (counters, issuers, auditors); its id if it has none. */
export function partyName(id) {
  if (!parties.has(id)) {
    parties.set(id, fetch(`/v1/parties/${id}`).then((r) => (r.ok ? r.json() : {}))
      .then((p) => p.name || id).catch(() => id));
  }
  return parties.get(id);
}

/** A short local date-time of a ledger timestamp. */
export function when(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB");
}

/** The message of an error for a status line, named as an attack when it is one. */
export function problem(e) {
  if (e && e.name === "Attack") return t("attack", { detail: e.message });
  if (e && e.problem) {
    return t("refused", { reason: e.problem.reason || e.problem.code || e.status, detail: e.message });
  }
  return t("error", { detail: e && e.message ? e.message : String(e) });
}
