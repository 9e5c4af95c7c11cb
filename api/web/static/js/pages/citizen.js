// The citizen's wallet: assets verified in the browser, grants, one-time QR codes, the
// access history with each entry proved in the log, erasure. Statements are signed here
// with the key that never leaves this browser (sign.js, party.js).
import { b64encode } from "../b64.js";
import { canonical } from "../canonical.js";
import { formatTs } from "../clock.js";
import { decodeEntry } from "../entry.js";
import { partyPage } from "../keypanel.js";
import { derivedId, makeStatement, signStatement } from "../sign.js";
import { $, badge, el, fillRows, fillSelect, named, partyName, problem, say, t, when } from "../ui.js";

let ledger;
let me;
let classes = new Map();
let scenarios = [];
let assets = [];

async function submit(kind, fields) {
  const wire = await signStatement(makeStatement(kind, me.party, fields), me.privateKey);
  const { entry } = await ledger.receipt(await ledger.post("/v1/statements", wire));
  if (entry.stmt.nonce !== wire.stmt.nonce) throw new Error("the receipt is for another statement");
  return { wire, entry };
}

async function entryAt(seq) {
  const page = await ledger.signedGet(`/v1/entries?start=${seq}&limit=1`, me);
  return page.entries[0];
}

async function loadAssets() {
  const msg = $("assets-msg");
  say(msg, t("verifying"));
  const rows = await ledger.signedGet(`/v1/holders/${me.party}/assets`, me);
  const cp = await ledger.checkpoint();
  assets = [];
  const out = [];
  for (const a of rows) {
    let proof;
    try {
      const issue = await ledger.checkIssue(await entryAt(a.seq), cp);
      if (issue.assetId !== a.id || issue.stmt.holder !== me.party || issue.stmt.class !== a.cls) {
        throw new Error(`asset ${a.id} does not match its issue entry`);
      }
      proof = badge(t("verified"));
    } catch (e) {
      proof = badge(problem(e), "bad");
    }
    if (a.status === "active") assets.push(a);
    const erase = a.status === "active"
      ? el("button", { type: "button", class: "danger", onclick: () => erase_(a) }, t("citizen.erase"))
      : null;
    out.push(el("tr", { "data-asset": a.id },
      el("td", {}, named(classes.get(a.cls)), el("br"), el("code", {}, a.id)),
      el("td", {}, await partyName(a.issuer)),
      el("td", {}, `${a.valid_from} – ${a.valid_until || "∞"}`),
      el("td", {}, t(`citizen.status.${a.status}`)),
      el("td", { class: "proof" }, proof),
      el("td", {}, erase)));
  }
  fillRows($("assets"), out);
  say(msg, t("citizen.assets.count", { n: rows.length }));
  const options = assets.map((a) => [a.id, `${named(classes.get(a.cls))} · ${a.id}`]);
  fillSelect($("qr-asset"), options);
  fillSelect($("g-asset"), options);
  syncScenarios();
}

/** Scenario choices that read the chosen asset's class; fields of the chosen pair. */
function syncScenarios() {
  for (const [assetSel, scenarioSel] of [["qr-asset", "qr-scenario"], ["g-asset", "g-scenario"]]) {
    const asset = assets.find((a) => a.id === $(assetSel).value);
    const fit = scenarios.filter((s) => asset && s.reads[asset.cls]);
    const keep = $(scenarioSel).value;
    fillSelect($(scenarioSel), fit.map((s) => [s.scenario, named(s)]));
    if (fit.some((s) => s.scenario === keep)) $(scenarioSel).value = keep;
  }
  const asset = assets.find((a) => a.id === $("g-asset").value);
  const sc = scenarios.find((s) => s.scenario === $("g-scenario").value);
  const fields = asset && sc ? sc.reads[asset.cls] || [] : [];
  const legend = $("g-fields").querySelector("legend");
  $("g-fields").replaceChildren(legend, ...fields.map((f) =>
    el("label", {}, el("input", { type: "checkbox", value: f, checked: true }), f)));
}

function grantFields(scenario, asset, fields, { grantee, minutes, uses, secretHash = null }) {
  const now = Date.now();
  return {
    scenario: scenario.scenario, purpose: scenario.purpose, scope: { [asset.cls]: fields },
    grantee, assets: [asset.id], not_before: formatTs(new Date(now - 60_000)),
    expires: formatTs(new Date(now + minutes * 60_000)), max_uses: uses, secret_hash: secretHash,
  };
}

async function makeQr() {
  const msg = $("qr-msg");
  try {
    const asset = assets.find((a) => a.id === $("qr-asset").value);
    const sc = scenarios.find((s) => s.scenario === $("qr-scenario").value);
    if (!asset || !sc) throw new Error(t("citizen.choose"));
    const minutes = Number($("qr-minutes").value) || 10;
    const fields = sc.reads[asset.cls];
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const { wire } = await submit("grant.create", grantFields(sc, asset, fields,
      { grantee: null, minutes, uses: 1, secretHash: b64encode(new Uint8Array(await crypto.subtle.digest("SHA-256", secret))) }));
    const grant = await derivedId("g", me.party, wire.stmt.nonce);
    // The token: "CLP1." + base64url(canonical({v, grant, asset, fields, purpose, secret})).
    const body = canonical({ v: 1, grant, asset: asset.id, fields, purpose: sc.purpose,
      secret: b64encode(secret) });
    const token = "CLP1." + b64encode(body).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const svg = await fetch("/v1/presentations/qr", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }),
    });
    if (!svg.ok) throw new Error(`HTTP ${svg.status}`);
    $("qr-img").src = URL.createObjectURL(await svg.blob());
    $("qr-token").value = token;
    $("qr-until").textContent = t("citizen.qr.until", { time: when(wire.stmt.expires) });
    $("qr-out").hidden = false;
    say(msg, t("citizen.qr.made", { grant }));
    await loadGrants();
  } catch (e) {
    say(msg, problem(e), false);
  }
}

async function makeGrant() {
  const msg = $("g-msg");
  try {
    const asset = assets.find((a) => a.id === $("g-asset").value);
    const sc = scenarios.find((s) => s.scenario === $("g-scenario").value);
    const counter = $("g-counter").value.trim();
    if (!asset || !sc) throw new Error(t("citizen.choose"));
    if (!/^p_[a-z2-7]{16}$/.test(counter)) throw new Error(t("citizen.counter.bad"));
    const fields = [...$("g-fields").querySelectorAll("input:checked")].map((i) => i.value);
    if (!fields.length) throw new Error(t("citizen.fields.none"));
    const { wire } = await submit("grant.create", grantFields(sc, asset, fields, {
      grantee: counter, minutes: (Number($("g-hours").value) || 24) * 60,
      uses: Number($("g-uses").value) || 10,
    }));
    say(msg, t("citizen.grant.made", { grant: await derivedId("g", me.party, wire.stmt.nonce) }));
    await loadGrants();
  } catch (e) {
    say(msg, problem(e), false);
  }
}

async function loadGrants() {
  const rows = await ledger.signedGet(`/v1/holders/${me.party}/grants`, me);
  const out = [];
  for (const g of rows.slice().reverse()) {
    const sc = scenarios.find((s) => s.scenario === g.scenario);
    const revoke = g.status === "active"
      ? el("button", { type: "button", class: "secondary", onclick: () => revoke_(g.id) }, t("citizen.revoke"))
      : null;
    out.push(el("tr", { "data-grant": g.id },
      el("td", {}, named(sc)),
      el("td", {}, g.grantee ? await partyName(g.grantee) : t("citizen.anycounter")),
      el("td", {}, `${g.uses} / ${g.max_uses}`),
      el("td", {}, when(g.expires)),
      el("td", {}, t(`citizen.status.${g.status}`)),
      el("td", {}, revoke)));
  }
  fillRows($("grants"), out);
}

async function revoke_(grant) {
  try {
    await submit("grant.revoke", { grant });
    say($("grants-msg"), t("citizen.revoked", { grant }));
    await loadGrants();
  } catch (e) {
    say($("grants-msg"), problem(e), false);
  }
}

async function erase_(asset) {
  if (!confirm(t("citizen.erase.confirm"))) return;
  try {
    await submit("asset.erase", { asset: asset.id, basis: "holder_request" });
    await loadAssets();
    say($("assets-msg"), t("citizen.erased", { asset: asset.id }));
  } catch (e) {
    say($("assets-msg"), problem(e), false);
  }
}

async function loadHistory() {
  const msg = $("hist-msg");
  say(msg, t("verifying"));
  try {
    const rows = [];
    let after = -1;
    for (;;) {
      const page = await ledger.signedGet(
        `/v1/holders/${me.party}/history?after_seq=${after}&limit=500`, me);
      rows.push(...page.rows);
      if (page.next_after_seq === null || page.next_after_seq === undefined) break;
      after = page.next_after_seq;
    }
    const cp = await ledger.checkpoint();
    const out = [];
    for (const r of rows.slice().reverse()) {
      let proof;
      try {
        const text = await entryAt(r.seq);
        await ledger.prove(text, r.seq, cp);
        const entry = decodeEntry(text);
        const kind = r.outcome === "denied" ? "access.denied"
          : (r.reason === "offline" ? "access.read_offline" : "access.read");
        const who = kind === "access.denied" ? entry.stmt.counter : entry.stmt.actor;
        if (entry.seq !== r.seq || entry.stmt.kind !== kind || who !== r.counter) {
          throw new Error(`history row ${r.seq} does not match its entry`);
        }
        proof = badge(t("verified"));
      } catch (e) {
        proof = badge(problem(e), "bad");
      }
      const outcome = r.outcome === "read"
        ? (r.reason === "offline" ? t("citizen.read.offline") : t("citizen.read"))
        : t("citizen.denied", { reason: r.reason });
      out.push(el("tr", { "data-seq": r.seq, "data-outcome": r.outcome },
        el("td", {}, when(r.ts)), el("td", {}, await partyName(r.counter)),
        el("td", {}, r.cls ? named(classes.get(r.cls)) : "–"), el("td", {}, r.purpose || "–"),
        el("td", {}, r.outcome === "read" ? outcome : badge(outcome, "warn")),
        el("td", { class: "proof" }, proof)));
    }
    fillRows($("history"), out);
    say(msg, t("citizen.history.count", { n: rows.length, size: cp.size }));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

partyPage("holder", async (page) => {
  ({ party: me, ledger, classes } = page);
  scenarios = await ledger.get("/v1/catalog/scenarios");
  for (const id of ["qr-asset", "g-asset", "g-scenario"]) $(id).addEventListener("change", syncScenarios);
  $("qr-make").addEventListener("click", makeQr);
  $("g-make").addEventListener("click", makeGrant);
  $("hist-refresh").addEventListener("click", loadHistory);
  return async () => {
    await loadAssets();
    await loadGrants();
    await loadHistory();
  };
});
