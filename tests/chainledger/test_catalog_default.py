"""Tests of chainledger.catalog_default: the default catalog is complete and self-consistent.

The launch figures of 水城链 (31 classes: 28 personal, 3 enterprise; DESIGN.md "The domain"),
every definition well-formed by `fieldtypes.check_field_def`, every reference (authority,
class, field, counter type) resolvable, and the scenarios minimal: a scenario reads named
fields, never a whole class by default.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import date
from typing import Any

import pytest

from chainledger.catalog_default import (
    AUTHORITIES,
    CLASSES,
    COUNTER_TYPES,
    SCENARIOS,
    class_by_id,
    scenario_by_id,
)
from chainledger.fieldtypes import check_field_def, check_record
from chainledger.identity import make_phone, make_resident_id, make_uscc

PERSON_CLASSES = {
    "resident_id_card",
    "household_register",
    "residence_permit",
    "marriage_certificate",
    "birth_medical_certificate",
    "driving_licence",
    "vehicle_licence",
    "real_estate_title",
    "social_security_card",
    "social_insurance_record",
    "provident_fund_record",
    "graduation_certificate",
    "degree_certificate",
    "vocational_qualification_certificate",
    "vocational_skill_certificate",
    "health_certificate",
    "veteran_preferential_card",
    "disability_certificate",
    "senior_citizen_card",
    "minimum_living_allowance_certificate",
    "no_criminal_record_certificate",
    "teacher_qualification",
    "physician_licence",
    "individual_tax_certificate",
    "electronic_health_card",
    "vaccination_record",
    "blood_donation_certificate",
    "residence_registration_certificate",
}
ENTERPRISE_CLASSES = {
    "business_licence",
    "public_place_hygiene_licence",
    "road_transport_operating_licence",
}

SNAKE = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)
CJK = re.compile(r"[\u4e00-\u9fff]")

CLASS_IDS = [c["class"] for c in CLASSES]
SCENARIO_IDS = [s["scenario"] for s in SCENARIOS]


def names_ok(names: Any) -> bool:
    return (
        isinstance(names, dict)
        and set(names) == {"zh", "en"}
        and all(isinstance(v, str) and v.strip() == v and v for v in names.values())
        and CJK.search(names["zh"]) is not None
        and names["en"].isascii()
    )


# --- classes --------------------------------------------------------------------------------


def test_exactly_31_classes_28_person_3_enterprise() -> None:
    assert len(CLASSES) == 31
    subjects = Counter(c["subject"] for c in CLASSES)
    assert subjects == {"person": 28, "enterprise": 3}


def test_class_ids_unique_and_as_specified() -> None:
    assert len(set(CLASS_IDS)) == len(CLASS_IDS)
    assert {c["class"] for c in CLASSES if c["subject"] == "person"} == PERSON_CLASSES
    assert {c["class"] for c in CLASSES if c["subject"] == "enterprise"} == ENTERPRISE_CLASSES


@pytest.mark.parametrize("cls", CLASSES, ids=CLASS_IDS)
def test_class_shape(cls: dict[str, Any]) -> None:
    assert set(cls) == {"class", "subject", "authority", "names", "fields", "validity_years"}
    assert SNAKE.fullmatch(cls["class"])
    assert cls["authority"] in AUTHORITIES
    assert names_ok(cls["names"])
    years = cls["validity_years"]
    assert years is None or (type(years) is int and years > 0)


@pytest.mark.parametrize("cls", CLASSES, ids=CLASS_IDS)
def test_class_fields(cls: dict[str, Any]) -> None:
    fields = cls["fields"]
    assert 3 <= len(fields) <= 8
    for field in fields:
        check_field_def(field)
    names = [f["name"] for f in fields]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("cls", CLASSES, ids=CLASS_IDS)
def test_class_identifies_its_holder(cls: dict[str, Any]) -> None:
    names = {f["name"] for f in cls["fields"]}
    if cls["subject"] == "person":
        assert names & {"name", "id_number"}
    else:
        assert {"company_name", "uscc"} <= names


def test_shared_field_names_have_one_type() -> None:
    # ``name`` is text everywhere, ``id_number`` an id_number everywhere, and so on.
    types: dict[str, set[str]] = {}
    for cls in CLASSES:
        for field in cls["fields"]:
            types.setdefault(field["name"], set()).add(field["type"])
    assert {name: kinds for name, kinds in types.items() if len(kinds) > 1} == {}
    assert types["id_number"] == {"id_number"}
    assert types["uscc"] == {"uscc"}
    assert types["sex"] == {"enum"}


def test_holder_identifiers_use_the_typed_fields() -> None:
    # An identity number or credit code is never a plain text field under another name.
    for cls in CLASSES:
        for field in cls["fields"]:
            if field["name"].endswith("id_number"):
                assert field["type"] == "id_number", (cls["class"], field["name"])


def test_resident_id_card_and_business_licence_fields() -> None:
    by_id = class_by_id()
    assert [f["name"] for f in by_id["resident_id_card"]["fields"]][:6] == [
        "name",
        "sex",
        "ethnicity",
        "birth_date",
        "address",
        "id_number",
    ]
    assert {
        "company_name",
        "uscc",
        "legal_representative",
        "registered_capital",
        "address",
        "established",
        "business_scope",
    } <= {f["name"] for f in by_id["business_licence"]["fields"]}
    capital = next(
        f for f in by_id["business_licence"]["fields"] if f["name"] == "registered_capital"
    )
    assert capital["type"] == "int"


def sample_value(field: dict[str, Any], rng: random.Random) -> object:
    kind = field["type"]
    if kind == "id_number":
        return make_resident_id(rng, region="371502", birth=date(1988, 8, 8), female=True)
    if kind == "uscc":
        return make_uscc(rng, region="371502")
    if kind == "enum":
        return rng.choice(field["values"])
    if kind == "int":
        return int(field.get("min", 0))
    if kind == "date":
        return "2024-06-30"
    if kind == "phone":
        return make_phone(rng)
    return "示例"


@pytest.mark.parametrize("cls", CLASSES, ids=CLASS_IDS)
def test_class_accepts_a_generated_record(cls: dict[str, Any]) -> None:
    rng = random.Random(cls["class"])
    full = {f["name"]: sample_value(f, rng) for f in cls["fields"]}
    check_record(cls["fields"], full, today=date(2025, 1, 1))
    required = {f["name"]: full[f["name"]] for f in cls["fields"] if not f.get("optional")}
    check_record(cls["fields"], required, today=date(2025, 1, 1))


# --- authorities and counter types ------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(AUTHORITIES))
def test_authority_names(key: str) -> None:
    assert SNAKE.fullmatch(key)
    assert names_ok(AUTHORITIES[key])


def test_every_authority_issues_a_class() -> None:
    assert {c["authority"] for c in CLASSES} == set(AUTHORITIES)


@pytest.mark.parametrize("key", sorted(COUNTER_TYPES))
def test_counter_type_names(key: str) -> None:
    assert SNAKE.fullmatch(key)
    assert names_ok(COUNTER_TYPES[key])


def test_every_counter_type_has_a_scenario() -> None:
    assert {s["counter_type"] for s in SCENARIOS} == set(COUNTER_TYPES)


def test_named_counter_types_present() -> None:
    assert {
        "bus_station",
        "provident_fund_office",
        "service_hall_window",
        "self_service_kiosk",
        "hospital_window",
        "market_regulation_window",
        "hr_window",
        "hotel_front_desk",
    } <= set(COUNTER_TYPES)
    assert COUNTER_TYPES["hr_window"]["zh"] == "人社窗口"


# --- scenarios --------------------------------------------------------------------------------


def test_scenario_count_and_ids() -> None:
    assert 10 <= len(SCENARIOS) <= 16
    assert len(set(SCENARIO_IDS)) == len(SCENARIO_IDS)
    assert {
        "bus_ticket",
        "provident_fund_withdrawal",
        "hygiene_licence_application",
        "skill_subsidy_application",
        "hotel_check_in",
        "hospital_registration",
        "senior_fare_concession",
    } <= set(SCENARIO_IDS)
    assert any(s["counter_type"] == "self_service_kiosk" for s in SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_scenario_shape(scenario: dict[str, Any]) -> None:
    assert set(scenario) == {"scenario", "counter_type", "purpose", "names", "reads", "hours"}
    assert SNAKE.fullmatch(scenario["scenario"])
    assert SNAKE.fullmatch(scenario["purpose"])
    assert scenario["counter_type"] in COUNTER_TYPES
    assert names_ok(scenario["names"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_scenario_reads_existing_fields(scenario: dict[str, Any]) -> None:
    by_id = class_by_id()
    reads = scenario["reads"]
    assert isinstance(reads, dict)
    assert reads
    for class_id, fields in reads.items():
        assert class_id in by_id, class_id
        known = {f["name"] for f in by_id[class_id]["fields"]}
        assert isinstance(fields, list)
        assert fields
        assert len(set(fields)) == len(fields)
        assert set(fields) <= known, (class_id, set(fields) - known)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=SCENARIO_IDS)
def test_scenario_hours(scenario: dict[str, Any]) -> None:
    hours = scenario["hours"]
    if hours is None:
        return
    assert set(hours) == {"from", "to"}
    assert HHMM.fullmatch(hours["from"])
    assert HHMM.fullmatch(hours["to"])
    assert hours["from"] < hours["to"]


def test_minimal_identity_scenarios() -> None:
    # 最少必要: buying a ticket or checking into a hotel needs a name and an id number only.
    by_id = scenario_by_id()
    assert by_id["bus_ticket"]["reads"] == {"resident_id_card": ["name", "id_number"]}
    assert by_id["bus_ticket"]["counter_type"] == "bus_station"
    assert by_id["bus_ticket"]["purpose"] == "ticket_purchase"
    assert by_id["hotel_check_in"]["reads"] == {"resident_id_card": ["name", "id_number"]}
    assert by_id["hotel_check_in"]["hours"] is None


def test_no_scenario_reads_a_whole_identity_card() -> None:
    card_fields = {f["name"] for f in class_by_id()["resident_id_card"]["fields"]}
    for scenario in SCENARIOS:
        read = set(scenario["reads"].get("resident_id_card", []))
        assert read < card_fields, scenario["scenario"]
        assert "ethnicity" not in read, scenario["scenario"]


def test_named_scenarios_read_what_the_service_needs() -> None:
    by_id = scenario_by_id()
    withdrawal = by_id["provident_fund_withdrawal"]
    assert withdrawal["counter_type"] == "provident_fund_office"
    assert {"resident_id_card", "provident_fund_record", "real_estate_title"} <= set(
        withdrawal["reads"]
    )
    hygiene = by_id["hygiene_licence_application"]
    assert hygiene["counter_type"] == "market_regulation_window"
    assert {"company_name", "uscc", "address"} <= set(hygiene["reads"]["business_licence"])
    assert {"name", "id_number"} <= set(hygiene["reads"]["health_certificate"])
    skill = by_id["skill_subsidy_application"]
    assert skill["counter_type"] == "hr_window"
    assert {
        "resident_id_card",
        "vocational_skill_certificate",
        "social_insurance_record",
    } <= set(skill["reads"])
    assert set(by_id["hospital_registration"]["reads"]) == {"electronic_health_card"}
    assert set(by_id["senior_fare_concession"]["reads"]) == {"senior_citizen_card"}


# --- plain data, and the helpers --------------------------------------------------------------


def test_catalog_is_json_data() -> None:
    data = {
        "authorities": AUTHORITIES,
        "classes": CLASSES,
        "counter_types": COUNTER_TYPES,
        "scenarios": SCENARIOS,
    }
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_no_field_definition_is_shared_between_classes() -> None:
    # Each definition is its own dict, so changing one class cannot change another.
    ids = [id(f) for c in CLASSES for f in c["fields"]]
    assert len(set(ids)) == len(ids)


def test_helpers_index_by_id_and_return_copies() -> None:
    classes = class_by_id()
    scenarios = scenario_by_id()
    assert list(classes) == CLASS_IDS
    assert list(scenarios) == SCENARIO_IDS
    assert classes["resident_id_card"] == CLASSES[0]
    classes["resident_id_card"]["fields"].clear()
    scenarios["bus_ticket"]["reads"].clear()
    assert class_by_id()["resident_id_card"]["fields"]
    assert scenario_by_id()["bus_ticket"]["reads"]
