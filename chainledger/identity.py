"""Chinese identifiers: check characters, validation and realistic demo values.

Three national standards are implemented here, each exactly as published:

- GB 11643-1999 公民身份号码 (citizen identity number): 17 digits and an ISO 7064
  MOD 11-2 check character.
- GB 32100-2015 法人和其他组织统一社会信用代码编码规则 (unified social credit code,
  "USCC"): 17 characters from a 31-character alphabet and a MOD 31 check character.
- GB 11714-1997 全国组织机构代码编制规则 (organization code): 8 characters and a
  MOD 11 check character; it is the 9-character "主体标识码" at positions 9-17 of a
  USCC (GB 32100-2015 代码结构).

Nothing here does I/O or reads a clock, and nothing draws module-level randomness:
generators take a `random.Random` (seeded in tests and demo scripts), validators take
``today`` when they need it. The generated values are *demo data*: well-formed and with
correct check characters, but made up; they must never be issued as real identifiers.

Validators return a bool (callers such as `chainledger.fieldtypes` turn a ``False`` into
a `SchemaError` that names the field, never the value). Malformed *arguments* to the check
and generator functions raise `MalformedInput`, whose message never quotes the argument.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Final

from chainledger.errors import MalformedInput

__all__ = [
    "CITY_CODE",
    "REGIONS",
    "USCC_CHARSET",
    "is_valid_organization_code",
    "is_valid_resident_id",
    "is_valid_uscc",
    "make_address",
    "make_enterprise_name",
    "make_organization_code",
    "make_person_name",
    "make_phone",
    "make_resident_id",
    "make_uscc",
    "organization_code_check_char",
    "region_name",
    "resident_id_check_digit",
    "uscc_check_char",
]

_DIGITS: Final = "0123456789"

# --- administrative division codes (GB/T 2260) ---------------------------------------------

#: 聊城市 (Liaocheng, prefecture-level city, Shandong).
CITY_CODE: Final = "371500"

#: Current GB/T 2260 codes of Liaocheng and its county-level divisions. 茌平区 replaced
#: 茌平县 (371523) in 2019; people registered there before then carry the old code in their
#: identity numbers, so real data contains 371523 too, but demo data uses the current code.
REGIONS: Final[dict[str, str]] = {
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

# GB/T 2260 province-level codes (first two digits of every division code); 71 台湾,
# 81 香港, 82 澳门. 83 is not a division code but GB 11643 numbers beginning 830000 are
# printed on residence permits of Taiwan residents (港澳台居民居住证), so it is accepted.
_PROVINCES: Final = frozenset(
    ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
     "65", "71", "81", "82", "83")
)  # fmt: skip


def region_name(code: str) -> str:
    """The name of a Liaocheng division as used before a street address or a firm's name.

    ``"371500"`` -> ``"聊城市"``; ``"371502"`` -> ``"聊城市东昌府区"``. Raises `MalformedInput`
    for a code that is not in `REGIONS`.
    """
    if code not in REGIONS:
        raise MalformedInput("region", "not a division code of Liaocheng (see REGIONS)")
    if code == CITY_CODE:
        return REGIONS[CITY_CODE]
    return REGIONS[CITY_CODE] + REGIONS[code]


def _check_region_code(region: str) -> None:
    if len(region) != 6 or any(c not in _DIGITS for c in region) or region[:2] not in _PROVINCES:
        raise MalformedInput("region", "must be a 6-digit GB/T 2260 division code")


# --- GB 11643-1999 citizen identity number -------------------------------------------------

# GB 11643-1999 校验码 (ISO 7064:1983 MOD 11-2): W_i = 2^(i-1) mod 11 for the character at
# position i counted from the right, the check character being position 1; so, from the
# left, the 17 body weights are 2^17 .. 2^1 mod 11.
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# ...and the check character is the a_1 for which sum(a_i * W_i) = 1 (mod 11), i.e. indexed
# by (sum of the body) mod 11; the value 10 is written as the Roman numeral X.
_ID_CHECK: Final = "10X98765432"
# Dates before this year are refused; GB 11643's own example was born in 1880.
_MIN_BIRTH_YEAR: Final = 1800


def resident_id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (``"0"``-``"9"`` or ``"X"``) of a 17-digit body.

    Raises `MalformedInput` unless ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or any(c not in _DIGITS for c in first17):
        raise MalformedInput("resident id body", "must be 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _id_birth_date(s: str) -> date | None:
    """The birth date coded at positions 7-14 (GB 11643-1999 出生日期码), or None."""
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None
    return born if born.year >= _MIN_BIRTH_YEAR else None


def is_valid_resident_id(s: str, *, today: date | None = None) -> bool:
    """Whether ``s`` is a well-formed 18-character GB 11643-1999 citizen identity number.

    Checks the structure the standard prescribes: a 6-digit address code (地址码) with a
    GB/T 2260 province prefix; a real birth date YYYYMMDD (出生日期码), year 1800 or later
    and not after ``today`` when ``today`` is given (no clock is read otherwise); a 3-digit
    sequence code (顺序码); and the check character (校验码), an upper-case ``X`` standing
    for 10. A lower-case ``x`` is refused: the standard prints X. Never raises; a non-``str``
    argument is simply not valid.
    """
    if not isinstance(s, str) or len(s) != 18:
        return False
    body, check = s[:17], s[17]
    if any(c not in _DIGITS for c in body) or body[:2] not in _PROVINCES:
        return False
    born = _id_birth_date(s)
    if born is None or (today is not None and born > today):
        return False
    return resident_id_check_digit(body) == check


def make_resident_id(rng: random.Random, *, region: str, birth: date, female: bool) -> str:
    """A random valid identity number for a person born on ``birth`` in ``region``.

    The sequence code (positions 15-17) is drawn from 001-999 with its last digit odd for
    a man and even for a woman (GB 11643-1999 顺序码). Raises `MalformedInput` for a
    region that is not a 6-digit division code or a birth year before 1800.
    """
    _check_region_code(region)
    if birth.year < _MIN_BIRTH_YEAR:
        raise MalformedInput("birth", "year must be 1800 or later")
    sequence = rng.randrange(2 if female else 1, 1000, 2)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_digit(body)


# --- GB 11714-1997 organization code ---------------------------------------------------------

# GB 11714-1997 校验码: C9 = 11 - MOD(sum(C_i * W_i), 11) with these weights; a result of
# 10 is written X and 11 is written 0. Letters count A=10 .. Z=35.
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS: Final = _DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def organization_code_check_char(first8: str) -> str:
    """The GB 11714-1997 check character (``"0"``-``"9"`` or ``"X"``) of an 8-char body.

    Raises `MalformedInput` unless ``first8`` is 8 ASCII digits or upper-case letters.
    """
    if len(first8) != 8 or any(c not in _ORG_BODY_CHARS for c in first8):
        raise MalformedInput("organization code body", "must be 8 digits or capital letters")
    total = sum(_ORG_BODY_CHARS.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def is_valid_organization_code(s: str) -> bool:
    """Whether ``s`` is a 9-character GB 11714-1997 organization code with a correct check.

    Accepts the bare form ``"M000100Y4"`` only (not the hyphenated ``"M000100Y-4"`` printed
    on old certificates). Never raises.
    """
    if not isinstance(s, str) or len(s) != 9 or any(c not in _ORG_BODY_CHARS for c in s[:8]):
        return False
    return organization_code_check_char(s[:8]) == s[8]


def make_organization_code(rng: random.Random) -> str:
    """A random 9-character organization code with a correct GB 11714-1997 check character.

    The body is "MA" and 6 characters from the USCC alphabet, the form of the codes that
    registration authorities have assigned to new market entities since the USCC reform of
    2015; every character is also legal in a USCC (check characters are 0-9 or X).
    """
    body = "MA" + "".join(rng.choice(USCC_CHARSET) for _ in range(6))
    return body + organization_code_check_char(body)


# --- GB 32100-2015 unified social credit code ----------------------------------------------

#: GB 32100-2015 代码字符集: digits and capital letters without I, O, Z, S, V;
#: a character's value is its index here (A=10 .. Y=30).
USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015 校验码: W_i = 3^(i-1) mod 31 for positions 1..17 from the left; the
# check is C18 = 31 - MOD(sum(C_i * W_i), 31), a result of 31 being written 0.
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of a 17-character USCC body.

    Raises `MalformedInput` unless every character is in `USCC_CHARSET` and there are 17.
    """
    if len(first17) != 17 or any(c not in USCC_CHARSET for c in first17):
        raise MalformedInput("uscc body", "must be 17 characters of the GB 32100 alphabet")
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """Whether ``s`` is a well-formed 18-character unified social credit code.

    Checks the GB 32100-2015 structure: 18 characters of `USCC_CHARSET` (upper case only),
    a 6-digit division code at positions 3-8 with a GB/T 2260 province prefix, and the
    check character (校验码). The registration-authority and category codes
    (positions 1-2) are not checked against a table: the set of authorities has been
    extended since 2015. Nor is the GB 11714 check of positions 9-17 (see
    `is_valid_organization_code`): the USCC check already covers every position, and
    GB 32100 defines validity by its own check character. Never raises.
    """
    if not isinstance(s, str) or len(s) != 18 or any(c not in USCC_CHARSET for c in s):
        return False
    region = s[2:8]
    if any(c not in _DIGITS for c in region) or region[:2] not in _PROVINCES:
        return False
    return uscc_check_char(s[:17]) == s[17]


def make_uscc(rng: random.Random, *, region: str) -> str:
    """A random valid USCC of a company registered in ``region``.

    Registration authority "9" (工商, market regulation) and category "1" (企业, enterprise),
    per GB 32100-2015 (登记管理部门代码, 机构类别代码); the 6-digit ``region``; a
    `make_organization_code`, so positions 9-17 pass the GB 11714 check too; and the
    GB 32100 check character. Raises `MalformedInput` for a region that is not a 6-digit
    division code.
    """
    _check_region_code(region)
    body = "91" + region + make_organization_code(rng)
    return body + uscc_check_char(body)


# --- names, phones, addresses ----------------------------------------------------------------

# Common single-character surnames, most frequent first (the Ministry of Public Security's
# household-register surname rankings put 王李张刘陈 at the top).
_SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严武戴莫孔向汤"
)
_GIVEN_MALE: Final = "伟强磊军勇杰涛明超刚平辉鹏华建国峰斌浩宇凯健俊帆旭宁龙波鑫博晨轩志成"
_GIVEN_FEMALE: Final = "芳娜敏静丽艳娟霞秀英玉兰萍红婷雪慧颖琳晶倩莉欣悦佳怡涵梓雨思月"


def make_person_name(rng: random.Random, *, female: bool | None = None) -> str:
    """A plausible Chinese personal name: a common surname and a 1- or 2-character given name.

    ``female`` picks the given-name characters from a list more usual for women (True) or
    men (False); None picks either at random.
    """
    if female is None:
        female = rng.random() < 0.5
    chars = _GIVEN_FEMALE if female else _GIVEN_MALE
    length = 1 if rng.random() < 0.35 else 2
    return rng.choice(_SURNAMES) + "".join(rng.choice(chars) for _ in range(length))


# Trade names (字号) and industries (行业) for enterprise names; 光岳 and 水城 are local
# (光岳楼, and Liaocheng's epithet 江北水城).
_TRADE_NAMES: Final = (
    "顺和", "鑫源", "华通", "恒泰", "德润", "宏达", "泰和", "金盛", "永昌", "瑞丰",
    "福源", "安康", "运通", "祥瑞", "兴隆", "鲁西", "水城", "光岳", "诚信", "嘉禾",
)  # fmt: skip
_INDUSTRIES: Final = (
    "餐饮", "商贸", "物流", "建材", "食品", "酒店管理", "运输", "科技", "医药",
    "农业科技", "机械制造", "纺织", "保洁服务", "美容美发", "文化传媒",
)  # fmt: skip


def make_enterprise_name(
    rng: random.Random, region_name: str, *, industry: str | None = None
) -> str:
    """A plausible enterprise name: ``region_name`` + trade name + industry + legal form.

    Follows the order the enterprise-name rules prescribe (行政区划 + 字号 + 行业 + 组织形式),
    e.g. ``make_enterprise_name(rng, region_name("371502"), industry="餐饮")`` ->
    ``"聊城市东昌府区顺和餐饮有限公司"``. ``region_name`` is used verbatim; ``industry``
    defaults to a random one.
    """
    trade = rng.choice(_TRADE_NAMES)
    if industry is None:
        industry = rng.choice(_INDUSTRIES)
    form = "股份有限公司" if rng.random() < 0.05 else "有限公司"
    return f"{region_name}{trade}{industry}{form}"


# Mobile prefixes in use by the three carriers (China Mobile, China Unicom, China Telecom).
_MOBILE_PREFIXES: Final = (
    "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "178",
    "182", "183", "187", "188", "198", "130", "131", "132", "155", "156", "166", "175",
    "176", "185", "186", "133", "153", "173", "177", "180", "181", "189", "199",
)  # fmt: skip


def make_phone(rng: random.Random) -> str:
    """A plausible 11-digit mainland mobile number (a real carrier prefix, 8 random digits)."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


# Street names found in most Chinese cities; not a claim about Liaocheng's streets.
_ROADS: Final = (
    "人民路", "建设路", "文化路", "光明路", "胜利路", "新华路", "解放路", "振兴路",
    "和平路", "团结路", "花园路", "健康路",
)  # fmt: skip


def make_address(rng: random.Random, *, region: str) -> str:
    """A plausible street address in a Liaocheng division, e.g. ``"山东省聊城市莘县建设路56号"``.

    Raises `MalformedInput` for a code that is not in `REGIONS`.
    """
    return f"山东省{region_name(region)}{rng.choice(_ROADS)}{rng.randrange(1, 300)}号"
