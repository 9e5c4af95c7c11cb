// The auditor console: the ledger's state verified here (checkpoint, consistency with what
// this browser saw, witness cosignatures, the latest entries re-linked and proved), trace
// searches, anomalies, charts and report downloads. Every query is a signed audit.query
// statement, recorded on the ledger before it is answered (its receipt is verified).
import { decodeEntry } from "../entry.js";
import { toHex } from "../hex.js";
import { partyPage } from "../keypanel.js";
import { leafHash } from "../merkle.js";
import { makeStatement, signStatement } from "../sign.js";
import { $, badge, el, fillRows, named, partyName, problem, say, t, when } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
const MONITORED = 200; // the latest entries re-linked on each visit
const SHOWN = 50; // anomalies listed (the report has them all)
let ledger;
let me;
let classes = new Map();

async function ledgerStatus() {
  const msg = $("ledger-msg");
  try {
    const cp = await ledger.checkpoint();
    $("l-size").textContent = String(cp.size);
    $("l-root").textContent = toHex(cp.root);
    $("l-note").textContent = cp.note;
    $("l-witnesses").textContent = cp.witnesses.length
      ? cp.witnesses.map((w) => w.name).join(", ") : t("auditor.nowitness");
    // The latest entries: each one's prev is the leaf hash of the one before, and the
    // last one is proved in the checkpoint's tree.
    const start = Math.max(0, cp.size - MONITORED - 1);
    const page = await ledger.signedGet(`/v1/entries?start=${start}&limit=${cp.size - start}`, me);
    let prev = null;
    for (const text of page.entries) {
      const entry = decodeEntry(text);
      if (prev !== null && entry.prev !== prev) throw new Error(`the chain breaks at entry ${entry.seq}`);
      prev = toHex(await leafHash(entry.data));
    }
    const last = page.entries[page.entries.length - 1];
    await ledger.prove(last, decodeEntry(last).seq, cp);
    $("l-monitor").replaceChildren(badge(t("auditor.monitor.ok", { from: start, to: cp.size - 1 })));
    say(msg, t("auditor.ledger.ok"));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

function query(view) {
  const q = { view };
  for (const key of ["holder", "counter", "issuer", "asset", "purpose", "outcome"]) {
    const value = $(`f-${key}`).value.trim();
    if (value) q[key] = value;
  }
  for (const key of ["since", "until"]) {
    const value = $(`f-${key}`).value;
    if (value) q[key] = new Date(value).toISOString();
  }
  return q;
}

/** Sign and send an audit query; returns the answer once its receipt verified. */
async function ask(view, format = "json") {
  const wire = await signStatement(makeStatement("audit.query", me.party, { query: query(view) }),
    me.privateKey);
  const answer = await ledger.signedPost(`/v1/audit?format=${format}&limit=1000`, wire, me);
  const { entry } = await ledger.receipt(answer.receipt);
  if (entry.stmt.kind !== "audit.query" || entry.stmt.nonce !== wire.stmt.nonce) {
    throw new Error("the answer's receipt is not for this query");
  }
  answer.recordedAt = entry.seq;
  return answer;
}

async function search() {
  const msg = $("trace-msg");
  try {
    const answer = await ask("trace");
    const rows = [];
    for (const r of answer.rows) {
      rows.push(el("tr", { "data-seq": r.seq },
        el("td", {}, String(r.seq)), el("td", {}, when(r.ts)), el("td", {}, await partyName(r.counter)),
        el("td", {}, el("code", {}, r.holder || "–")), el("td", {}, r.cls ? named(classes.get(r.cls)) : "–"),
        el("td", {}, r.purpose || "–"),
        el("td", {}, r.outcome === "read" ? t("auditor.read") : badge(`${t("auditor.denied")}: ${r.reason}`, "warn"))));
    }
    fillRows($("rows"), rows);
    $("rows").hidden = false;
    say(msg, t("auditor.found", { n: answer.rows.length, seq: answer.recordedAt }));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

async function anomalies() {
  const msg = $("trace-msg");
  try {
    const answer = await ask("anomalies");
    const items = [];
    for (const a of answer.anomalies.slice(0, SHOWN)) {
      items.push(el("li", {}, badge(t(`auditor.rule.${a.rule}`), "warn"), " ",
        `${await partyName(a.counter)} · seq ${a.seq} · ${when(a.ts)} · ${a.detail}`));
    }
    $("anomaly-list").replaceChildren(...items);
    say(msg, t("auditor.anomalies.found", { n: answer.anomalies.length, shown: items.length,
      seq: answer.recordedAt }));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

/** A horizontal bar chart of reads and refusals per label (SVG, built as DOM nodes). */
function bars(title, data) {
  const entries = Object.entries(data);
  const max = Math.max(1, ...entries.map(([, v]) => (v.read || 0) + (v.denied || 0)));
  const row = 22;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", `0 0 600 ${entries.length * row + 8}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  entries.forEach(([label, v], i) => {
    const y = i * row + 4;
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "0");
    text.setAttribute("y", String(y + 14));
    text.textContent = label.length > 24 ? label.slice(0, 23) + "…" : label;
    const bar = document.createElementNS(SVG, "rect");
    const total = (v.read || 0) + (v.denied || 0);
    bar.setAttribute("x", "200");
    bar.setAttribute("y", String(y + 3));
    bar.setAttribute("height", "14");
    bar.setAttribute("width", String(Math.max(1, (total / max) * 340)));
    const count = document.createElementNS(SVG, "text");
    count.setAttribute("x", String(206 + (total / max) * 340));
    count.setAttribute("y", String(y + 14));
    count.textContent = `${v.read || 0} / ${v.denied || 0}`;
    svg.append(text, bar, count);
  });
  return el("figure", {}, el("figcaption", {}, el("strong", {}, title), " ", t("auditor.legend")), svg);
}

async function charts() {
  const msg = $("trace-msg");
  try {
    const answer = await ask("report", "json");
    const data = JSON.parse(answer.report);
    const counters = {};
    for (const [id, v] of Object.entries(data.per_counter)) counters[await partyName(id)] = v;
    const perClass = {};
    for (const [c, v] of Object.entries(data.per_class)) perClass[named(classes.get(c)) || c] = v;
    $("chart-box").replaceChildren(
      bars(t("auditor.chart.counter"), counters),
      bars(t("auditor.chart.class"), perClass),
      bars(t("auditor.chart.day"), data.per_day));
    say(msg, t("auditor.charts.done", { reads: data.reads, refusals: data.refusals, seq: answer.recordedAt }));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

async function download() {
  const msg = $("report-msg");
  try {
    const format = $("r-format").value;
    const answer = await ask("report", format);
    const type = { html: "text/html", csv: "text/csv", json: "application/json" }[format];
    const link = el("a", {
      href: URL.createObjectURL(new Blob([answer.report], { type })),
      download: `chainledger-audit-${answer.recordedAt}.${format}`,
    });
    document.body.append(link);
    link.click();
    link.remove();
    say(msg, t("auditor.downloaded", { seq: answer.recordedAt }));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

partyPage("auditor", (page) => {
  ({ party: me, ledger, classes } = page);
  $("search").addEventListener("click", search);
  $("anomalies").addEventListener("click", anomalies);
  $("charts").addEventListener("click", charts);
  $("download").addEventListener("click", download);
  return ledgerStatus;
});
