// The key panel of the pages where a party acts (templates/_key.html): make or import
// the key, show whether the platform registered it, and hand the page the party once it
// is registered in the page's role (`partyPage` also connects the verifying client).

import { Ledger } from "./ledger.js";
import { createParty, forgetParty, importParty, loadParty, registrationRequest } from "./party.js";
import { $, problem, say, t } from "./ui.js";

async function registration(party) {
  const r = await fetch(`/v1/parties/${party.party}`);
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.json();
}

/**
 * Run the panel for `role`; calls `ready(party, registered)` once the key is registered
 * for that role (party: {party, role, privateKey, publicRaw}; registered: the platform's
 * record of it, GET /v1/parties/{id}).
 */
export async function keyPanel(role, ready) {
  const msg = $("key-msg");

  async function show(party, note = "") {
    $("key-none").hidden = !!party;
    $("key-some").hidden = !party;
    if (!party) return;
    $("key-party").textContent = party.party;
    const registered = await registration(party);
    if (registered && registered.role !== role) {
      say(msg, t("key.wrongrole", { role: registered.role, want: role }), false);
      return;
    }
    if (!registered) {
      $("key-status").textContent = t("key.unregistered");
      $("key-status").className = "badge warn";
      $("key-reg").open = true;
      $("key-reg-json").textContent = JSON.stringify(await registrationRequest(party), null, 1);
      if (note) say(msg, note);
      return;
    }
    $("key-status").textContent = t("key.registered", { status: registered.status });
    $("key-status").className = registered.status === "active" ? "badge ok" : "badge bad";
    $("key-reg").hidden = true;
    if (note) say(msg, note);
    await ready(party, registered);
  }

  $("key-create").addEventListener("click", async () => {
    try {
      await show(await createParty(role), t("key.made"));
    } catch (e) {
      say(msg, t("error", { detail: e.message }), false);
    }
  });
  $("key-import").addEventListener("click", async () => {
    try {
      const file = $("key-file").files[0];
      const pem = file ? await file.text() : $("key-pem").value;
      $("key-pem").value = "";
      await show(await importParty(role, pem), t("key.imported"));
    } catch (e) {
      say(msg, t("error", { detail: e.message }), false);
    }
  });
  $("key-forget").addEventListener("click", async () => {
    await forgetParty(role);
    say(msg, t("key.forgotten"));
    location.reload();
  });
  await show(await loadParty(role));
}

/**
 * A party page (templates/party.html) for `role`: once its key is registered, connect the
 * verifying client, fetch the asset classes, call `start({party, registered, ledger,
 * classes})` (which wires the page's controls and may return a loader), show the page,
 * then run the loader. A failure is shown in the key panel, which is always visible.
 */
export function partyPage(role, start) {
  return keyPanel(role, async (party, registered) => {
    try {
      const ledger = await Ledger.connect();
      const classes = new Map((await ledger.get("/v1/catalog/classes")).map((c) => [c.class, c]));
      const load = await start({ party, registered, ledger, classes });
      $("app").hidden = false; // only now: every control is wired
      if (load) await load();
    } catch (e) {
      say($("key-msg"), problem(e), false);
    }
  });
}
