"""The whole certificate-free flow in a real browser: three people, three browser contexts.

A citizen imports her key into the wallet page and shows a one-time QR code; the bus
station's counter terminal reads the code from a photo of it and verifies every part of
the answer; the citizen sees that read in her history with its proof verified; the
auditor finds it with a trace search. Then: the same code read again is refused (the
refusal is recorded, its receipt verified), a standing grant is revoked and the next
read under it is refused. Throughout, no page sends anything that carries a private key,
and every private key kept in a browser is non-extractable.
"""

from __future__ import annotations

import json
import random
import re
from datetime import date

import httpx
from playwright.sync_api import Browser, expect
from wallet_support import platform
from web_support import STORED_KEYS, TIMEOUT, Demo, Person, secrets_of

from chainledger.identity import make_resident_id


def test_citizen_shows_a_qr_counter_reads_it_citizen_and_auditor_see_it(
    browser: Browser, demo: Demo
) -> None:
    holder = demo.party("holder", subject="person")
    bus = demo.party("counter", counter_type="bus_station")
    auditor = demo.party("auditor")

    citizen = Person(browser, demo.url, "/citizen?lang=en")
    citizen.import_key(demo.pem(holder))
    page = citizen.page
    expect(page.locator("#assets tbody tr").first).to_be_visible(timeout=TIMEOUT)
    # Every asset verified in the browser: issue entry proved, issuer's signature checked.
    expect(page.locator("#assets-msg")).to_contain_text("e-licences", timeout=TIMEOUT)
    proofs = page.locator("#assets td.proof").all_inner_texts()
    assert proofs
    assert all(p == "verified" for p in proofs), proofs
    card = page.locator("#qr-asset option", has_text="Resident").first.get_attribute("value")
    assert card
    page.select_option("#qr-asset", card)
    page.select_option("#qr-scenario", "bus_ticket")
    page.click("#qr-make")
    expect(page.locator("#qr-out")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#qr-img")).to_have_js_property("complete", True)
    assert page.locator("#qr-img").evaluate("i => i.naturalWidth") > 0
    photo = demo.tmp / "qr.png"
    page.locator("#qr-img").screenshot(path=str(photo))

    counter = Person(browser, demo.url, "/counter?lang=en")
    counter.import_key(demo.pem(bus))
    cp = counter.page
    cp.set_input_files("#photo", str(photo))
    expect(cp.locator("#token")).to_have_value(re.compile(r"^CLP1\."), timeout=TIMEOUT)
    assert cp.input_value("#token") == page.input_value("#qr-token")
    expect(cp.locator("#scenario")).to_have_value("bus_ticket")
    cp.click("#read")
    expect(cp.locator("#result")).to_be_visible(timeout=TIMEOUT)
    names = cp.locator("#r-fields tbody td:nth-child(1)").all_inner_texts()
    values = cp.locator("#r-fields tbody td.value").all_inner_texts()
    assert set(names) == {"name", "id_number"}  # exactly what the bus ticket service reads
    assert all(values)
    assert len(cp.locator("#r-checks li").all()) == 4
    found = re.search(r"seq (\d+)", cp.inner_text("#r-receipt"))
    assert found, cp.inner_text("#r-receipt")
    seq = int(found.group(1))

    # The same code again: refused, recorded, and the refusal's receipt verified.
    cp.click("#read")
    expect(cp.locator("#read-msg")).to_contain_text("grant_exhausted", timeout=TIMEOUT)
    expect(cp.locator("#read-msg")).to_contain_text("receipt verified")

    # The citizen sees the read and the refusal, each proved in the log.
    page.click("#hist-refresh")
    row = page.locator(f'#history tr[data-seq="{seq}"]')
    expect(row).to_be_visible(timeout=TIMEOUT)
    expect(row.locator("td.proof")).to_have_text("verified", timeout=TIMEOUT)
    denied = page.locator("#history tr[data-outcome=denied]").first
    expect(denied).to_contain_text("grant_exhausted")
    expect(denied.locator("td.proof")).to_have_text("verified")

    # The auditor finds the read by the holder.
    audit = Person(browser, demo.url, "/auditor?lang=en")
    audit.import_key(demo.pem(auditor))
    ap = audit.page
    expect(ap.locator("#l-monitor")).to_contain_text("hash chain intact", timeout=TIMEOUT)
    ap.fill("#f-holder", holder["id"])
    ap.click("#search")
    expect(ap.locator(f'#rows tr[data-seq="{seq}"]')).to_be_visible(timeout=TIMEOUT)
    expect(ap.locator(f'#rows tr[data-seq="{seq}"]')).to_contain_text(bus["name"])

    # Keys: non-extractable in every browser, never sent in any form.
    for person, party in ((citizen, holder), (counter, bus), (audit, auditor)):
        stored = person.page.evaluate(STORED_KEYS)
        assert stored == [
            {"extractable": False, "usages": ["sign"], "exported": "InvalidAccessError"}
        ]
        sent = person.sent()
        assert party["id"] in sent  # the requests were recorded: the check below can fail
        for secret in secrets_of(demo.pem(party)):
            assert secret not in sent
    citizen.check_clean()
    counter.check_clean({(403, "/v1/reads")})
    audit.check_clean()


def test_a_revoked_standing_grant_refuses_the_next_read(browser: Browser, demo: Demo) -> None:
    holder = demo.party("holder", subject="person")
    bus = demo.party("counter", counter_type="bus_station")
    citizen = Person(browser, demo.url, "/citizen?lang=en")
    citizen.import_key(demo.pem(holder))
    page = citizen.page
    expect(page.locator("#g-asset option").first).to_be_attached(timeout=TIMEOUT)
    card = page.locator("#g-asset option", has_text="Resident").first.get_attribute("value")
    assert card
    page.select_option("#g-asset", card)
    page.select_option("#g-scenario", "bus_ticket")
    page.fill("#g-counter", bus["id"])
    page.click("#g-make")
    expect(page.locator("#g-msg")).to_contain_text("g_", timeout=TIMEOUT)
    found = re.search(r"g_[a-z2-7]{16}", page.inner_text("#g-msg"))
    assert found
    grant = found.group(0)
    expect(page.locator(f'#grants tr[data-grant="{grant}"]')).to_be_visible(timeout=TIMEOUT)

    counter = Person(browser, demo.url, "/counter?lang=en")
    counter.import_key(demo.pem(bus))
    cp = counter.page
    cp.click("#standing summary")
    cp.fill("#s-grant", grant)
    cp.fill("#s-asset", card)
    cp.select_option("#scenario", "bus_ticket")
    cp.click("#read")
    expect(cp.locator("#result")).to_be_visible(timeout=TIMEOUT)

    page.locator(f'#grants tr[data-grant="{grant}"] button').click()
    expect(page.locator("#grants-msg")).to_contain_text(grant, timeout=TIMEOUT)
    cp.click("#read")
    expect(cp.locator("#read-msg")).to_contain_text("grant_revoked", timeout=TIMEOUT)
    expect(cp.locator("#read-msg")).to_contain_text("receipt verified")
    citizen.check_clean()
    counter.check_clean({(403, "/v1/reads")})


def test_a_key_made_in_the_browser_is_registered_and_never_leaves(
    browser: Browser, demo: Demo
) -> None:
    person = Person(browser, demo.url, "/citizen?lang=en")
    page = person.page
    page.click("#key-create")
    expect(page.locator("#key-reg-json")).to_contain_text("public_key", timeout=TIMEOUT)
    request = json.loads(page.inner_text("#key-reg-json"))
    party = page.inner_text("#key-party")
    assert page.evaluate(STORED_KEYS) == [
        {"extractable": False, "usages": ["sign"], "exported": "InvalidAccessError"}
    ]
    # The platform desk registers it after an identity check; the request is all it needs
    # (the proof of possession was signed in the browser).
    real_id = make_resident_id(random.Random(), region="371502", birth=date(1991, 2, 3),
                               female=True)  # fmt: skip
    reg = {**request, "name": "", "attrs": {"subject": "person"}, "real_id": real_id}
    done = httpx.post(demo.url + "/v1/parties", json=reg, auth=platform(demo.db), timeout=30)
    assert done.status_code == 200, done.text
    page.reload()
    expect(page.locator("#key-status")).to_contain_text("registered (active)", timeout=TIMEOUT)
    expect(page.locator("#assets-msg")).to_contain_text("0 e-licences", timeout=TIMEOUT)
    assert page.inner_text("#key-party") == party
    # Nothing the page sent could carry the private key: every body is public JSON.
    for r in person.requests:
        if r.post_data:
            assert set(json.loads(r.post_data)) <= {"stmt", "sig", "token"}, r.post_data
    person.check_clean({(404, f"/v1/parties/{party}")})
