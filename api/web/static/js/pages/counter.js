// The counter terminal: read a presented QR code (camera with BarcodeDetector, a photo, or
// the pasted token) or a standing grant, for one of this counter's services; the read is
// signed here and every part of the answer is verified here before a value is shown:
// the receipt (the read is on the ledger), the issuer's entry and its inclusion proof,
// the issuer's signature with the key of its time, and each value against its signed
// digest. A refusal shows its reason and its own verified receipt.
import { b64decode } from "../b64.js";
import { parseJsonObject } from "../json.js";
import { partyPage } from "../keypanel.js";
import { checkDisclosures } from "../ledger.js";
import { makeStatement, signStatement } from "../sign.js";
import { $, badge, el, fillRows, fillSelect, named, partyName, problem, say, t, when } from "../ui.js";

let ledger;
let me;
let mine = [];
let classes = new Map();
const sheet = [];

/** Parse a presentation token "CLP1." + base64url(canonical JSON) (wallet/presentation.py). */
function parseToken(text) {
  const token = text.trim();
  if (!token.startsWith("CLP1.")) throw new Error(t("counter.token.bad"));
  const b64 = token.slice(5).replace(/-/g, "+").replace(/_/g, "/");
  let data;
  try {
    const raw = b64decode(b64 + "=".repeat((4 - (b64.length % 4)) % 4), "token");
    data = parseJsonObject(new TextDecoder("utf-8", { fatal: true }).decode(raw), "token");
  } catch {
    throw new Error(t("counter.token.bad"));
  }
  for (const k of ["grant", "asset", "purpose", "secret"]) {
    if (typeof data[k] !== "string") throw new Error(t("counter.token.bad"));
  }
  if (!Array.isArray(data.fields) || !data.fields.length) throw new Error(t("counter.token.bad"));
  return data;
}

async function decodePhoto(file) {
  if ("BarcodeDetector" in window) {
    const found = await new window.BarcodeDetector({ formats: ["qr_code"] })
      .detect(await createImageBitmap(file));
    const hit = found.find((c) => c.rawValue.startsWith("CLP1."));
    if (hit) return hit.rawValue;
  }
  // No BarcodeDetector here: the server reads the code (zxing-cpp), from a photo scaled down
  // to fit its body limit. The code holds a one-time grant and secret, no personal value.
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 1200 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const r = await fetch("/v1/presentations/decode", {
    method: "POST", headers: { "content-type": "image/png" }, body: blob,
  });
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || `HTTP ${r.status}`);
  return body.token;
}

async function startCamera() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    $("camera-note").textContent = t("counter.camera.none");
    return;
  }
  const video = $("video");
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.hidden = false;
  await video.play();
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const tick = async () => {
    const found = await detector.detect(video).catch(() => []);
    const hit = found.find((c) => c.rawValue.startsWith("CLP1."));
    if (hit) {
      $("token").value = hit.rawValue;
      video.srcObject.getTracks().forEach((track) => track.stop());
      video.hidden = true;
      presetScenario();
    } else {
      requestAnimationFrame(tick);
    }
  };
  tick();
}

/** Choose the service whose purpose the presented token names, and list what it allows. */
function presetScenario() {
  try {
    const token = parseToken($("token").value);
    const sc = mine.find((s) => s.purpose === token.purpose);
    if (sc) $("scenario").value = sc.scenario;
  } catch {
    // Not a token yet: the read will say so.
  }
  showAllowed();
}

function showAllowed() {
  const sc = mine.find((s) => s.scenario === $("scenario").value);
  $("allowed").textContent = sc
    ? t("counter.allowed", {
      fields: Object.entries(sc.reads).map(([c, f]) => `${named(classes.get(c))}: ${f.join(", ")}`).join("; "),
    })
    : "";
}

/** The read statement's fields: from the token, or a standing grant and the service. */
async function readFields(sc) {
  if ($("token").value.trim()) {
    const p = parseToken($("token").value);
    return { grant: p.grant, asset: p.asset, fields: p.fields, purpose: p.purpose, secret: p.secret };
  }
  const grant = $("s-grant").value.trim();
  const asset = $("s-asset").value.trim();
  if (!grant || !asset) throw new Error(t("counter.nothing"));
  const row = await ledger.signedGet(`/v1/assets/${asset}`, me);
  const fields = sc.reads[row.cls];
  if (!fields) throw new Error(t("counter.notinscenario"));
  return { grant, asset, fields, purpose: sc.purpose };
}

async function read() {
  const msg = $("read-msg");
  $("result").hidden = true;
  try {
    const sc = mine.find((s) => s.scenario === $("scenario").value);
    if (!sc) throw new Error(t("counter.noscenario"));
    const wire = await signStatement(makeStatement("access.read", me.party, await readFields(sc)),
      me.privateKey);
    say(msg, t("verifying"));
    let body;
    try {
      body = await ledger.post("/v1/reads", wire);
    } catch (e) {
      if (e.problem && e.problem.receipt) {
        const { entry } = await ledger.receipt(e.problem.receipt);
        if (entry.stmt.kind !== "access.denied") throw new Error("the refusal's receipt is for another entry");
        sheet.push({ seq: entry.seq, leaf: e.problem.receipt.leaf_hash, asset: wire.stmt.asset, outcome: "denied" });
        showSheet();
        say(msg, t("counter.refused", { reason: e.problem.reason, seq: entry.seq }), false);
        return;
      }
      throw e;
    }
    await show(wire, body);
    say(msg, t("counter.done"));
  } catch (e) {
    say(msg, problem(e), false);
  }
}

async function show(wire, body) {
  const { entry, checkpoint } = await ledger.receipt(body.receipt);
  if (entry.stmt.kind !== "access.read" || entry.stmt.nonce !== wire.stmt.nonce) {
    throw new Error("the receipt is not for this read");
  }
  // The issuer's entry, proved in the receipt's tree with the proof the answer carries.
  const issue = await ledger.checkIssue(body.issue_entry, checkpoint, body.issue_proof);
  if (issue.assetId !== wire.stmt.asset) throw new Error("the issue entry is not the asset's");
  const got = Object.keys(body.disclosures).sort().join(",");
  if (got !== wire.stmt.fields.slice().sort().join(",")) {
    throw new Error("the disclosures are not exactly the fields asked for");
  }
  await checkDisclosures(issue.stmt.digests, body.disclosures);
  const a = body.asset;
  $("r-class").textContent = `${named(classes.get(a.cls))} (${a.id})`;
  $("r-issuer").textContent = await partyName(a.issuer);
  $("r-validity").textContent = `${a.valid_from} – ${a.valid_until || "∞"}`;
  $("r-status").replaceChildren(badge(t(`counter.status.${a.status}`), a.status === "active" ? "ok" : "bad"));
  fillRows($("r-fields"), Object.entries(body.disclosures).map(([name, [, value]]) =>
    el("tr", {}, el("td", {}, name), el("td", { class: "value" }, String(value)),
      el("td", {}, badge(t("counter.digest.ok"))))));
  $("r-checks").replaceChildren(
    el("li", {}, badge("✓"), " ", t("counter.check.issuer", { issuer: await partyName(a.issuer) })),
    el("li", {}, badge("✓"), " ", t("counter.check.included", { seq: issue.seq, size: checkpoint.size })),
    el("li", {}, badge("✓"), " ", t("counter.check.status")),
    el("li", {}, badge("✓"), " ", t("counter.check.receipt", { seq: entry.seq })),
  );
  $("r-receipt").textContent = t("counter.receipt.text", {
    seq: entry.seq, leaf: body.receipt.leaf_hash, size: checkpoint.size, time: when(entry.ts),
  });
  $("result").hidden = false;
  sheet.push({ seq: entry.seq, leaf: body.receipt.leaf_hash, asset: a.id, outcome: "read" });
  showSheet();
}

function showSheet() {
  $("sheet-items").replaceChildren(...sheet.map((i) =>
    el("li", {}, `${i.asset} · ${t(`counter.outcome.${i.outcome}`)} · seq ${i.seq}`)));
}

async function signSheet() {
  const msg = $("sheet-msg");
  try {
    if (!sheet.length) throw new Error(t("counter.sheet.empty"));
    const application = $("application").value.trim();
    const wire = await signStatement(makeStatement("sheet.issue", me.party,
      { application, items: sheet.slice() }), me.privateKey);
    const { entry } = await ledger.receipt(await ledger.post("/v1/statements", wire));
    say(msg, t("counter.sheet.done", { seq: entry.seq, n: sheet.length }));
    sheet.length = 0;
    showSheet();
  } catch (e) {
    say(msg, problem(e), false);
  }
}

partyPage("counter", async (page) => {
  ({ party: me, ledger, classes } = page);
  const type = (page.registered.attrs || {}).counter_type;
  mine = (await ledger.get("/v1/catalog/scenarios")).filter((s) => s.counter_type === type);
  fillSelect($("scenario"), mine.map((s) => [s.scenario, named(s)]));
  showAllowed();
  $("scenario").addEventListener("change", showAllowed);
  $("token").addEventListener("input", presetScenario);
  $("photo").addEventListener("change", async () => {
    try {
      $("token").value = await decodePhoto($("photo").files[0]);
      presetScenario();
      say($("read-msg"), t("counter.decoded"));
    } catch (e) {
      say($("read-msg"), problem(e), false);
    }
  });
  $("camera").addEventListener("click", () => startCamera().catch((e) => say($("read-msg"), problem(e), false)));
  $("read").addEventListener("click", read);
  $("print").addEventListener("click", () => window.print());
  $("sheet-sign").addEventListener("click", signSheet);
  if (!("BarcodeDetector" in window)) $("camera-note").textContent = t("counter.camera.none");
});
