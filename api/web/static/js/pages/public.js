// The public dashboard: verifies the latest checkpoint against the verifier key shown
// on the page, lists witness cosignatures, copies the key, and checks pasted receipts,
// all in the browser (receipt.js, checkpoint.js), never trusting the server's word.

import { b64encode } from "../b64.js";
import { openCheckpoint } from "../checkpoint.js";
import { toHex } from "../hex.js";
import { parseVerifierKey } from "../note.js";
import { checkReceipt } from "../receipt.js";
import { pageData, translator } from "./page.js";

const data = pageData();
const t = translator(data.messages);
const $ = (id) => document.getElementById(id);
const number = (n) => n.toLocaleString(data.lang === "zh" ? "zh-CN" : "en");
const verifier = parseVerifierKey(data.vkey);

function setState(element, state, text) {
  element.dataset.state = state;
  if (text !== undefined) element.textContent = text;
}

async function showCheckpoint() {
  const panel = $("checkpoint");
  try {
    const response = await fetch("/v1/checkpoint", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    $("cp-text").textContent = text;
    const { checkpoint, unknown } = await openCheckpoint(text, [await verifier], { origin: data.origin });
    $("cp-origin").textContent = checkpoint.origin;
    $("cp-size").textContent = number(checkpoint.size);
    $("cp-size").dataset.value = String(checkpoint.size);
    $("cp-root").textContent = b64encode(checkpoint.root);
    const list = $("cp-witnesses");
    if (unknown.length) {
      list.replaceChildren(...unknown.map((sig) => {
        const item = document.createElement("li");
        item.textContent = t("cp.witness.line", { name: sig.name, keyid: toHex(sig.keyId) });
        return item;
      }));
    }
    panel.dataset.state = "ok";
    $("cp-status").textContent = t("cp.verified");
  } catch (exc) {
    panel.dataset.state = "bad";
    $("cp-status").textContent = t("cp.failed", { reason: exc.message });
  }
}

async function copyKey() {
  const status = $("copy-status");
  try {
    await navigator.clipboard.writeText(data.vkey);
    status.textContent = t("vkey.copied");
  } catch {
    // No clipboard permission: select the key so that the user can copy it.
    const range = document.createRange();
    range.selectNodeContents($("vkey"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    status.textContent = t("vkey.copy_failed");
  }
}

async function verifyPasted(event) {
  event.preventDefault();
  const result = $("proof-result");
  const text = $("receipt").value.trim();
  delete result.dataset.check;
  if (!text) {
    setState(result, "bad", t("proof.empty"));
    return;
  }
  if (data.suite !== "sha256") {
    setState(result, "warn", t("proof.sm3"));
    return;
  }
  const outcome = await checkReceipt(text, [await verifier], { origin: data.origin });
  if (outcome.ok) {
    setState(result, "ok", t("proof.ok", {
      seq: outcome.entry.seq, kind: outcome.entry.stmt.kind, ts: outcome.entry.ts,
      size: number(outcome.checkpoint.size),
    }));
    return;
  }
  result.dataset.check = outcome.check;
  setState(result, "bad", t("proof.failed", { check: t(`check.${outcome.check}`) }));
  const detail = document.createElement("code");
  detail.className = "detail";
  detail.textContent = outcome.message;
  result.append(document.createElement("br"), detail);
}

$("copy-vkey").addEventListener("click", copyKey);
$("proof-form").addEventListener("submit", verifyPasted);
$("proof-form").addEventListener("reset", () => {
  const result = $("proof-result");
  delete result.dataset.check;
  setState(result, "idle", "");
});
showCheckpoint();
