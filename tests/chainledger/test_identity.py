"""Tests of chainledger.identity: GB 11643, GB 32100 and GB 11714 check characters, demo data.

Yardsticks:

1. published examples: the two worked examples of GB 11643-1999 (11010519491231002X,
   440524188001010014), the example USCC 91350100M000100Y43 found in GB 32100 guides and
   validator libraries, and the codes printed on the business licences of three well-known
   companies (each also passes the independent GB 11714 check of its positions 9-17, so a
   mis-remembered code would be caught);
2. independent oracles written from the standards' definitions (ISO 7064 MOD 11-2 as
   "sum of a_i * 2^(i-1) = 1 mod 11", GB 32100 as "sum of c_i * 3^(i-1) = 0 mod 31"),
   compared with the implementation on Hypothesis-generated bodies;
3. every single-character substitution of valid identifiers, at every position with every
   character of the alphabet and a few outside it, must be refused;
4. generated identifiers (Hypothesis over seeds) are always valid and say what was asked.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainledger import identity
from chainledger.errors import MalformedInput
from chainledger.identity import (
    CITY_CODE,
    REGIONS,
    USCC_CHARSET,
    is_valid_organization_code,
    is_valid_resident_id,
    is_valid_uscc,
    make_address,
    make_enterprise_name,
    make_organization_code,
    make_person_name,
    make_phone,
    make_resident_id,
    make_uscc,
    organization_code_check_char,
    region_name,
    resident_id_check_digit,
    uscc_check_char,
)

# GB 11643-1999 worked examples: 北京市朝阳区 1949-12-31 (female, sequence 002, check X)
# and 广东省汕头市潮阳县 1880-01-01 (male, sequence 001, check 4).
GB11643_EXAMPLES = ["11010519491231002X", "440524188001010014"]

# USCCs: the example code of GB 32100 explanations and validators; and, as printed on their
# business licences, 华为技术有限公司, 深圳市腾讯计算机系统有限公司 (its organization code
# ends in X, exercising GB 11714's "10 is written X") and 阿里巴巴（中国）有限公司.
PUBLISHED_USCCS = [
    "91350100M000100Y43",
    "914403001922038216",
    "9144030071526726XG",
    "91330100716105852F",
]

ID_ALPHABET = "0123456789X"
# Characters outside the alphabets that a sloppy validator might let through.
FOREIGN = ["x", " ", "-", "\uff11", "\u0661", "a", "I", "O"]

seeds = st.integers(min_value=0, max_value=2**64 - 1)
regions = st.sampled_from(sorted(REGIONS))
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


# --- independent oracles, transcribed from the standards' definitions ----------------------


def oracle_id_valid(s: str) -> bool:
    """ISO 7064 MOD 11-2 as GB 11643-1999 states it: sum(a_i * W_i) = 1 (mod 11), where
    i = 18..1 counts from the right, W_i = 2^(i-1) mod 11, and X stands for 10."""
    values = [10 if c == "X" else int(c) for c in s]
    total = sum(a * pow(2, i - 1, 11) for a, i in zip(values, range(18, 0, -1), strict=True))
    return total % 11 == 1


def oracle_uscc_valid(s: str) -> bool:
    """GB 32100-2015: C18 = 31 - MOD(sum(C_i * 3^(i-1)), 31), 31 written 0; that is,
    sum(C_i * 3^(i-1)) + C18 = 0 (mod 31)."""
    values = [USCC_CHARSET.index(c) for c in s]
    total = sum(c * pow(3, i, 31) for i, c in enumerate(values[:17]))
    return (total + values[17]) % 31 == 0


def with_id_check(body: str) -> str:
    return body + resident_id_check_digit(body)


# --- GB 11643-1999 citizen identity numbers -------------------------------------------------


@pytest.mark.parametrize("example", GB11643_EXAMPLES)
def test_gb11643_examples_check_digit(example: str) -> None:
    assert resident_id_check_digit(example[:17]) == example[17]
    assert is_valid_resident_id(example)
    assert is_valid_resident_id(example, today=date(2025, 1, 1))
    assert oracle_id_valid(example)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_matches_iso7064_oracle(body: str) -> None:
    check = resident_id_check_digit(body)
    assert check in ID_ALPHABET
    assert oracle_id_valid(body + check)
    assert [oracle_id_valid(body + c) for c in ID_ALPHABET].count(True) == 1


@pytest.mark.parametrize(
    "body", ["", "1101051949123100", "110105194912310021", "1101051949123100X", "１" * 17]
)
def test_check_digit_refuses_malformed_body(body: str) -> None:
    with pytest.raises(MalformedInput) as info:
        resident_id_check_digit(body)
    if body:
        assert body not in str(info.value)


def test_lower_case_x_refused() -> None:
    assert not is_valid_resident_id("11010519491231002x")


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("february 30", "11010519490230002"),
        ("month 13", "11010519491331002"),
        ("day 00", "11010519491200002"),
        ("year before 1800", "11010517991231002"),
        ("unknown province 99", "99010519491231002"),
        ("province 00", "00010519491231002"),
    ],
)
def test_structurally_wrong_ids_refused_despite_good_check(what: str, body: str) -> None:
    assert not is_valid_resident_id(with_id_check(body)), what


def test_leap_day_accepted_only_in_leap_years() -> None:
    assert is_valid_resident_id(with_id_check("37150220000229001"))
    assert not is_valid_resident_id(with_id_check("37150219000229001"))


def test_future_birth_refused_only_when_today_given() -> None:
    future = with_id_check("37150220300101001")
    assert is_valid_resident_id(future)
    assert not is_valid_resident_id(future, today=date(2029, 12, 31))
    assert is_valid_resident_id(future, today=date(2030, 1, 1))


@pytest.mark.parametrize(
    "s",
    [
        "",
        "11010519491231002",
        "11010519491231002XX",
        " 11010519491231002X",
        "11010519491231002X\n",
        "１1010519491231002X",
    ],
)
def test_wrong_shape_refused(s: str) -> None:
    assert not is_valid_resident_id(s)


def test_non_string_refused() -> None:
    assert not is_valid_resident_id(11010519491231002)  # type: ignore[arg-type]
    assert not is_valid_resident_id(None)  # type: ignore[arg-type]


def _assert_every_substitution_refused_id(valid: str) -> None:
    assert is_valid_resident_id(valid)
    for i, original in enumerate(valid):
        for c in [*ID_ALPHABET, *FOREIGN]:
            if c != original:
                corrupted = valid[:i] + c + valid[i + 1 :]
                assert not is_valid_resident_id(corrupted), (i, c)


@pytest.mark.parametrize("example", GB11643_EXAMPLES)
def test_every_substitution_of_examples_refused(example: str) -> None:
    _assert_every_substitution_refused_id(example)


@settings(max_examples=60)
@given(seeds, regions, births, st.booleans())
def test_every_substitution_of_generated_ids_refused(
    seed: int, region: str, birth: date, female: bool
) -> None:
    rng = random.Random(seed)
    _assert_every_substitution_refused_id(
        make_resident_id(rng, region=region, birth=birth, female=female)
    )


@given(seeds, regions, births, st.booleans())
def test_generated_ids_are_valid_and_say_what_was_asked(
    seed: int, region: str, birth: date, female: bool
) -> None:
    s = make_resident_id(random.Random(seed), region=region, birth=birth, female=female)
    assert is_valid_resident_id(s, today=birth)
    assert oracle_id_valid(s)
    assert s[:6] == region
    assert s[6:14] == birth.strftime("%Y%m%d")
    sequence = int(s[14:17])
    assert 1 <= sequence <= 999
    # GB 11643-1999 顺序码: odd for men, even for women.
    assert sequence % 2 == (0 if female else 1)


def test_generated_ids_cover_both_parities_and_x() -> None:
    rng = random.Random(7)
    ids = [
        make_resident_id(rng, region="371502", birth=date(1990, 1, 1), female=i % 2 == 0)
        for i in range(400)
    ]
    assert {int(s[16]) % 2 for s in ids} == {0, 1}
    assert any(s.endswith("X") for s in ids)
    assert len(set(ids)) > 300


def test_make_resident_id_refuses_bad_arguments() -> None:
    rng = random.Random(0)
    for region in ["37150", "3715021", "99000", "990000", "37150a"]:
        with pytest.raises(MalformedInput):
            make_resident_id(rng, region=region, birth=date(1990, 1, 1), female=False)
    with pytest.raises(MalformedInput):
        make_resident_id(rng, region="371502", birth=date(1799, 12, 31), female=False)


# --- GB 11714-1997 organization codes -------------------------------------------------------


@pytest.mark.parametrize("uscc", PUBLISHED_USCCS)
def test_published_usccs_carry_valid_organization_codes(uscc: str) -> None:
    org = uscc[8:17]
    assert organization_code_check_char(org[:8]) == org[8]
    assert is_valid_organization_code(org)


def test_organization_check_eleven_is_written_zero() -> None:
    # sum 0 -> C9 = 11 - 0 = 11, written 0 (GB 11714-1997 校验码).
    assert organization_code_check_char("00000000") == "0"
    assert organization_code_check_char("71526726") == "X"


def test_organization_code_refusals() -> None:
    assert not is_valid_organization_code("M000100Y-4")
    assert not is_valid_organization_code("M000100Y5")
    assert not is_valid_organization_code("m000100Y4")
    with pytest.raises(MalformedInput):
        organization_code_check_char("m000100Y")
    with pytest.raises(MalformedInput):
        organization_code_check_char("M000100")


# --- GB 32100-2015 unified social credit codes ----------------------------------------------


@pytest.mark.parametrize("uscc", PUBLISHED_USCCS)
def test_published_usccs(uscc: str) -> None:
    assert uscc_check_char(uscc[:17]) == uscc[17]
    assert is_valid_uscc(uscc)
    assert oracle_uscc_valid(uscc)


@given(st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17))
def test_uscc_check_matches_oracle(body: str) -> None:
    check = uscc_check_char(body)
    assert oracle_uscc_valid(body + check)
    assert [oracle_uscc_valid(body + c) for c in USCC_CHARSET].count(True) == 1


def test_uscc_check_zero_when_sum_divisible() -> None:
    # Sum 0 -> 31 - 0 = 31, written 0 (GB 32100-2015 校验码).
    assert uscc_check_char("0" * 17) == "0"


@pytest.mark.parametrize(
    "body", ["", "91350100M000100Y", "91350100M000100Y4X", "91350100m000100Y4"]
)
def test_uscc_check_refuses_malformed_body(body: str) -> None:
    with pytest.raises(MalformedInput):
        uscc_check_char(body)


@pytest.mark.parametrize(
    ("what", "s"),
    [
        ("lower case", "91350100m000100y43"),
        ("letter I outside the alphabet", "91350100I000100Y43"),
        ("region not digits", "913501A0M000100Y43"),
        ("unknown province", "91990100M000100Y43"),
        ("too short", "91350100M000100Y4"),
        ("too long", "91350100M000100Y433"),
        ("not a string", 913501000001001043),
    ],
)
def test_uscc_structural_refusals(what: str, s: str) -> None:
    assert not is_valid_uscc(s), what


def _assert_every_substitution_refused_uscc(valid: str) -> None:
    assert is_valid_uscc(valid)
    for i, original in enumerate(valid):
        for c in [*USCC_CHARSET, *"IOZSV", *FOREIGN]:
            if c != original:
                corrupted = valid[:i] + c + valid[i + 1 :]
                assert not is_valid_uscc(corrupted), (i, c)


@pytest.mark.parametrize("uscc", PUBLISHED_USCCS)
def test_every_substitution_of_published_usccs_refused(uscc: str) -> None:
    _assert_every_substitution_refused_uscc(uscc)


@settings(max_examples=40)
@given(seeds, regions)
def test_every_substitution_of_generated_usccs_refused(seed: int, region: str) -> None:
    _assert_every_substitution_refused_uscc(make_uscc(random.Random(seed), region=region))


@given(seeds, regions)
def test_generated_usccs_are_valid(seed: int, region: str) -> None:
    s = make_uscc(random.Random(seed), region=region)
    assert is_valid_uscc(s)
    assert oracle_uscc_valid(s)
    assert s.startswith("91" + region)
    assert is_valid_organization_code(s[8:17])


@given(seeds)
def test_generated_organization_codes_are_valid(seed: int) -> None:
    org = make_organization_code(random.Random(seed))
    assert is_valid_organization_code(org)
    assert all(c in USCC_CHARSET for c in org)


def test_make_uscc_refuses_bad_region() -> None:
    with pytest.raises(MalformedInput):
        make_uscc(random.Random(0), region="3715")


# --- regions, names, phones, addresses --------------------------------------------------------


def test_regions_are_liaocheng() -> None:
    assert REGIONS == {
        "371500": "聊城市",
        "371502": "东昌府区",
        "371503": "茌平区",
        "371521": "阳谷县",
        "371522": "莘县",
        "371524": "东阿县",
        "371525": "冠县",
        "371526": "高唐县",
        "371581": "临清市",
    }
    assert REGIONS[CITY_CODE] == "聊城市"


def test_region_name() -> None:
    assert region_name("371500") == "聊城市"
    assert region_name("371502") == "聊城市东昌府区"
    with pytest.raises(MalformedInput):
        region_name("370102")


def _is_cjk(c: str) -> bool:
    return unicodedata.name(c, "").startswith("CJK UNIFIED IDEOGRAPH")


@given(seeds, st.sampled_from([None, True, False]))
def test_person_names(seed: int, female: bool | None) -> None:
    name = make_person_name(random.Random(seed), female=female)
    assert 2 <= len(name) <= 3
    assert all(_is_cjk(c) for c in name)


def test_person_names_vary() -> None:
    rng = random.Random(3)
    names = [make_person_name(rng) for _ in range(300)]
    assert {len(n) for n in names} == {2, 3}
    assert len({n[0] for n in names}) > 30
    assert len(set(names)) > 250


@given(seeds, regions)
def test_enterprise_names(seed: int, region: str) -> None:
    rng = random.Random(seed)
    prefix = region_name(region)
    name = make_enterprise_name(rng, prefix)
    assert name.startswith(prefix)
    assert name.endswith("有限公司")
    assert len(name) > len(prefix) + 4
    assert "餐饮" in make_enterprise_name(rng, prefix, industry="餐饮")


def test_enterprise_name_example_shape() -> None:
    name = make_enterprise_name(random.Random(1), region_name("371502"), industry="餐饮")
    assert re.fullmatch(r"聊城市东昌府区..餐饮(股份)?有限公司", name)


@given(seeds)
def test_phones(seed: int) -> None:
    phone = make_phone(random.Random(seed))
    assert re.fullmatch(r"1[3-9][0-9]{9}", phone, re.ASCII)


@given(seeds, regions)
def test_addresses(seed: int, region: str) -> None:
    address = make_address(random.Random(seed), region=region)
    assert address.startswith("山东省" + region_name(region))
    assert address.endswith("号")


def test_generators_depend_only_on_the_rng() -> None:
    def draw(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [
            make_resident_id(rng, region="371522", birth=date(1985, 6, 1), female=True),
            make_uscc(rng, region="371581"),
            make_person_name(rng),
            make_enterprise_name(rng, "莘县"),
            make_phone(rng),
            make_address(rng, region="371503"),
        ]

    random.seed(1)
    first = draw(42)
    random.seed(2)
    assert draw(42) == first
    assert draw(43) != first


def test_module_reads_no_clock_and_draws_no_global_randomness() -> None:
    source = identity.__file__
    assert source is not None
    with open(source, encoding="utf-8") as f:
        text = f.read()
    for forbidden in ["random.random(", "random.choice(", "random.randrange(", ".today(", ".now("]:
        assert forbidden not in text
