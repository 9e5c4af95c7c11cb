"""The default catalog: issuing authorities, asset classes, counter types, service scenarios.

Plain data modelled on Liaocheng's 水城链 at launch (DESIGN.md, "The domain"): 31 asset
classes, 28 about a person and 3 about an enterprise, each issued by one authority, and the
service scenarios (用证清单) that say, for a counter type and a purpose, which fields of which
classes a counter may read. Scenarios follow data minimization (最少必要, PIPL 《个人信息保护法》
第六条): a counter gets the fields its service needs, not the whole certificate.

Conventions:

- Field definitions are those of `chainledger.fieldtypes` (checked by `check_field_def`).
  The same thing has the same field name in every class: ``name``, ``sex``, ``id_number``,
  ``birth_date``, ``address``, ``certificate_number``, ``issue_date``, ``valid_from``,
  ``valid_until``; for enterprises ``company_name``, ``uscc``, ``legal_representative``.
- Money is in whole yuan (``int``); dates are ``YYYY-MM-DD``.
- ``validity_years`` is the fixed term of a class when the rules fix one, else None (no
  fixed term, or a term that depends on the holder, e.g. an identity card's 5/10/20 years
  or long-term by age, 《居民身份证法》第五条; such classes carry ``valid_until``).
- ``hours`` of a scenario are local opening hours (``"HH:MM"``, from < to, same day), or
  None for a counter open around the clock; audit flags reads outside them.
- Authorities are named as the issuing departments of the statutes. In Shandong many
  licences are in practice issued by a county or city 行政审批服务局 (relatively
  centralized licensing); the catalog keeps the department of the statute.

Everything is module-level data; the helpers return deep copies so callers cannot change it.
"""

from __future__ import annotations

import copy
from typing import Any, Final

__all__ = [
    "AUTHORITIES",
    "CLASSES",
    "COUNTER_TYPES",
    "SCENARIOS",
    "class_by_id",
    "scenario_by_id",
]

AUTHORITIES: Final[dict[str, dict[str, str]]] = {
    "public_security": {"zh": "聊城市公安局", "en": "Liaocheng Public Security Bureau"},
    "civil_affairs": {"zh": "聊城市民政局", "en": "Liaocheng Civil Affairs Bureau"},
    "health": {"zh": "聊城市卫生健康委员会", "en": "Liaocheng Health Commission"},
    "human_resources": {
        "zh": "聊城市人力资源和社会保障局",
        "en": "Liaocheng Human Resources and Social Security Bureau",
    },
    "housing_fund": {
        "zh": "聊城市住房公积金管理中心",
        "en": "Liaocheng Housing Provident Fund Management Center",
    },
    "education": {"zh": "聊城市教育局", "en": "Liaocheng Education Bureau"},
    "market_regulation": {
        "zh": "聊城市市场监督管理局",
        "en": "Liaocheng Administration for Market Regulation",
    },
    "transport": {"zh": "聊城市交通运输局", "en": "Liaocheng Transport Bureau"},
    "natural_resources": {
        "zh": "聊城市自然资源和规划局",
        "en": "Liaocheng Natural Resources and Planning Bureau",
    },
    "tax": {
        "zh": "国家税务总局聊城市税务局",
        "en": "Liaocheng Tax Service, State Taxation Administration",
    },
    "veterans_affairs": {"zh": "聊城市退役军人事务局", "en": "Liaocheng Veterans Affairs Bureau"},
    "disabled_persons": {
        "zh": "聊城市残疾人联合会",
        "en": "Liaocheng Disabled Persons' Federation",
    },
    "blood_center": {"zh": "聊城市中心血站", "en": "Liaocheng Central Blood Station"},
}


# --- small constructors for field definitions (each call makes a fresh dict) -----------------


def _f(name: str, kind: str, *, optional: bool = False, **extra: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind, **extra}
    if optional:
        field["optional"] = True
    return field


def _text(name: str, *, optional: bool = False) -> dict[str, Any]:
    return _f(name, "text", optional=optional)


def _date(name: str, *, optional: bool = False) -> dict[str, Any]:
    return _f(name, "date", optional=optional)


def _enum(name: str, *values: str, optional: bool = False) -> dict[str, Any]:
    return _f(name, "enum", optional=optional, values=list(values))


def _int(name: str, *, lo: int | None = None, hi: int | None = None) -> dict[str, Any]:
    field = _f(name, "int")
    if lo is not None:
        field["min"] = lo
    if hi is not None:
        field["max"] = hi
    return field


def _name() -> dict[str, Any]:
    return _text("name")


def _sex() -> dict[str, Any]:
    return _enum("sex", "男", "女")


def _id(name: str = "id_number", *, optional: bool = False) -> dict[str, Any]:
    return _f(name, "id_number", optional=optional)


def _uscc() -> dict[str, Any]:
    return _f("uscc", "uscc")


def _cls(
    class_id: str,
    subject: str,
    authority: str,
    zh: str,
    en: str,
    fields: list[dict[str, Any]],
    validity_years: int | None = None,
) -> dict[str, Any]:
    return {
        "class": class_id,
        "subject": subject,
        "authority": authority,
        "names": {"zh": zh, "en": en},
        "fields": fields,
        "validity_years": validity_years,
    }


# --- the 31 asset classes --------------------------------------------------------------------

CLASSES: Final[list[dict[str, Any]]] = [
    _cls(
        "resident_id_card", "person", "public_security", "居民身份证", "Resident Identity Card",
        # valid_until is absent for a long-term (长期) card, 《居民身份证法》第五条.
        [_name(), _sex(), _text("ethnicity"), _date("birth_date"), _text("address"), _id(),
         _date("valid_from"), _date("valid_until", optional=True)],
    ),
    _cls(
        "household_register", "person", "public_security", "居民户口簿", "Household Register",
        [_text("household_number"), _name(), _text("relation_to_head"), _sex(),
         _date("birth_date"), _id(), _text("address")],
    ),
    _cls(
        "residence_permit", "person", "public_security", "居住证", "Residence Permit",
        [_name(), _sex(), _id(), _text("address"), _date("issue_date"), _date("valid_until")],
        # Endorsed (签注) every year of residence, 《居住证暂行条例》第十五条.
        validity_years=1,
    ),
    _cls(
        "marriage_certificate", "person", "civil_affairs", "结婚证", "Marriage Certificate",
        [_name(), _id(), _text("spouse_name"), _id("spouse_id_number"),
         _date("registration_date"), _text("certificate_number")],
    ),
    _cls(
        "birth_medical_certificate", "person", "health", "出生医学证明",
        "Birth Medical Certificate",
        # A newborn has no identity number yet; a parent may be unknown.
        [_name(), _sex(), _date("birth_date"), _text("mother_name"), _id("mother_id_number"),
         _text("father_name", optional=True), _id("father_id_number", optional=True),
         _text("certificate_number")],
    ),
    _cls(
        "driving_licence", "person", "public_security", "机动车驾驶证", "Driving Licence",
        # The licence number is the holder's identity number. Classes as in
        # 《机动车驾驶证申领和使用规定》(C6 added in 2022); one class per licence here.
        [_name(), _sex(), _id(), _text("address"),
         _enum("licence_class", "A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5",
               "C6", "D", "E", "F", "M", "N", "P"),
         _date("first_issue_date"), _date("valid_from"), _date("valid_until", optional=True)],
    ),
    _cls(
        "vehicle_licence", "person", "public_security", "机动车行驶证", "Vehicle Licence",
        # ``name`` is the registered owner (所有人); a vehicle licence carries no id number.
        [_text("plate_number"), _text("vehicle_type"), _name(), _text("use_character"),
         _text("vin"), _date("register_date"), _date("issue_date")],
    ),
    _cls(
        "real_estate_title", "person", "natural_resources", "不动产权证书",
        "Real Estate Title Certificate",
        [_text("certificate_number"), _name(), _id(),
         _enum("ownership", "单独所有", "共同共有", "按份共有"), _text("location"),
         _text("unit_number"), _text("usage"), _date("registration_date")],
    ),
    _cls(
        "social_security_card", "person", "human_resources", "社会保障卡",
        "Social Security Card",
        # The social security number (社会保障号码) is the citizen identity number.
        [_name(), _sex(), _id(), _text("card_number"), _text("bank"), _date("issue_date"),
         _date("valid_until", optional=True)],
    ),
    _cls(
        "social_insurance_record", "person", "human_resources", "社会保险个人参保证明",
        "Social Insurance Contribution Record",
        # Basic medical insurance is administered by the healthcare security bureau
        # (医疗保障局), not HR, so it is not among these insurance types.
        [_name(), _id(), _text("employer", optional=True),
         _enum("insurance_type", "企业职工基本养老保险", "机关事业单位养老保险",
               "城乡居民基本养老保险", "失业保险", "工伤保险"),
         _date("contribution_start"), _int("months_contributed", lo=0, hi=1200),
         _enum("status", "正常参保", "暂停缴费", "终止参保"), _date("as_of")],
    ),
    _cls(
        "provident_fund_record", "person", "housing_fund", "住房公积金缴存证明",
        "Housing Provident Fund Deposit Record",
        [_name(), _id(), _text("account_number"), _text("employer"),
         _int("monthly_deposit", lo=0), _int("balance", lo=0),
         _enum("account_status", "正常", "封存", "销户"), _date("as_of")],
    ),
    _cls(
        "graduation_certificate", "person", "education", "毕业证书", "Graduation Certificate",
        # The certificate prints name, sex and birth date, not the identity number.
        [_name(), _sex(), _date("birth_date"), _text("school"), _text("major", optional=True),
         _enum("education_level", "初中", "普通高中", "中等职业学校", "专科", "本科",
               "硕士研究生", "博士研究生"),
         _date("graduation_date"), _text("certificate_number")],
    ),
    _cls(
        "degree_certificate", "person", "education", "学位证书", "Degree Certificate",
        [_name(), _sex(), _date("birth_date"), _enum("degree", "学士", "硕士", "博士"),
         _text("discipline"), _text("institution"), _date("award_date"),
         _text("certificate_number")],
    ),
    _cls(
        "vocational_qualification_certificate", "person", "human_resources", "职业资格证书",
        "Vocational Qualification Certificate",
        [_name(), _id(), _text("qualification"), _text("level", optional=True),
         _text("certificate_number"), _date("issue_date")],
    ),
    _cls(
        "vocational_skill_certificate", "person", "human_resources", "职业技能等级证书",
        "Vocational Skill Level Certificate",
        # Five levels, 《国家职业技能标准编制技术规程》: 五级/初级工 .. 一级/高级技师.
        [_name(), _id(), _text("occupation"),
         _enum("skill_level", "五级/初级工", "四级/中级工", "三级/高级工", "二级/技师",
               "一级/高级技师"),
         _text("evaluation_body"), _text("certificate_number"), _date("issue_date")],
    ),
    _cls(
        "health_certificate", "person", "health", "从业人员健康证明", "Health Certificate",
        [_name(), _sex(), _id(), _enum("occupation_category", "食品", "公共场所", "其他"),
         _text("medical_institution"), _date("exam_date"), _date("valid_until"),
         _text("certificate_number")],
        # Food handlers are examined every year, 《食品安全法》第四十五条.
        validity_years=1,
    ),
    _cls(
        "veteran_preferential_card", "person", "veterans_affairs", "退役军人优待证",
        "Veteran Preferential Card",
        [_name(), _id(), _text("card_number"),
         _enum("category", "退役军人", "烈士遗属", "因公牺牲军人遗属", "病故军人遗属"),
         _date("issue_date")],
    ),
    _cls(
        "disability_certificate", "person", "disabled_persons", "中华人民共和国残疾人证",
        "Disability Certificate",
        # Categories and grades of GB/T 26341-2010 残疾人残疾分类和分级.
        [_name(), _sex(), _id(), _text("certificate_number"),
         _enum("disability_category", "视力", "听力", "言语", "肢体", "智力", "精神", "多重"),
         _enum("disability_grade", "一级", "二级", "三级", "四级"), _date("issue_date"),
         _date("valid_until")],
    ),
    _cls(
        "senior_citizen_card", "person", "health", "老年人优待证", "Senior Citizen Card",
        # Issued by the ageing office (老龄办), part of the health commission since 2018.
        [_name(), _sex(), _date("birth_date"), _id(), _text("card_number"),
         _date("issue_date")],
    ),
    _cls(
        "minimum_living_allowance_certificate", "person", "civil_affairs", "最低生活保障证",
        "Minimum Living Allowance Certificate",
        # ``name`` and ``id_number`` are the head of the assisted household.
        [_name(), _id(), _text("certificate_number"), _enum("area_type", "城市", "农村"),
         _int("household_size", lo=1, hi=20), _int("monthly_allowance", lo=0),
         _date("valid_from"), _date("valid_until")],
    ),
    _cls(
        "no_criminal_record_certificate", "person", "public_security", "无犯罪记录证明",
        "No Criminal Record Certificate",
        [_name(), _sex(), _id(), _text("certificate_number"), _date("issue_date")],
    ),
    _cls(
        "teacher_qualification", "person", "education", "教师资格证书",
        "Teacher Qualification Certificate",
        # The seven kinds of 《教师资格条例》第四条.
        [_name(), _sex(), _id(),
         _enum("qualification_type", "幼儿园教师资格", "小学教师资格", "初级中学教师资格",
               "高级中学教师资格", "中等职业学校教师资格", "中等职业学校实习指导教师资格",
               "高等学校教师资格"),
         _text("subject", optional=True), _text("certificate_number"), _date("issue_date")],
    ),
    _cls(
        "physician_licence", "person", "health", "医师执业证书", "Physician Practising Certificate",
        [_name(), _sex(), _id(), _text("certificate_number"),
         _enum("practice_category", "临床", "中医", "口腔", "公共卫生"),
         _text("practice_scope"), _text("practice_institution"), _date("issue_date")],
    ),
    _cls(
        "individual_tax_certificate", "person", "tax", "个人所得税纳税记录",
        "Individual Income Tax Payment Record",
        # The 纳税记录 replaced the individual 税收完税证明 in 2019.
        [_name(), _id(), _date("period_from"), _date("period_to"), _int("tax_paid", lo=0),
         _text("withholding_agent", optional=True), _text("record_number"),
         _date("issue_date")],
    ),
    _cls(
        "electronic_health_card", "person", "health", "居民电子健康卡",
        "Electronic Health Card",
        [_name(), _sex(), _id(), _text("card_number"), _date("issue_date")],
    ),
    _cls(
        "vaccination_record", "person", "health", "预防接种记录", "Vaccination Record",
        # One asset per dose, as entered in the child's 预防接种证; young children may have
        # no identity number on file.
        [_name(), _sex(), _date("birth_date"), _id(optional=True), _text("vaccine"),
         _int("dose", lo=1, hi=10), _date("vaccination_date"), _text("vaccination_unit")],
    ),
    _cls(
        "blood_donation_certificate", "person", "blood_center", "无偿献血证",
        "Voluntary Blood Donation Certificate",
        # Whole blood is donated 200-400 ml at a time (《献血法》第九条); platelets by
        # apheresis are counted in therapeutic doses, so the volume is then absent.
        [_name(), _sex(), _id(), _enum("blood_type", "A", "B", "O", "AB"),
         _enum("donation_type", "全血", "单采血小板"),
         _f("volume_ml", "int", optional=True, min=200, max=400), _date("donation_date"),
         _text("certificate_number")],
    ),
    _cls(
        "residence_registration_certificate", "person", "public_security", "居住登记凭证",
        "Residence Registration Certificate",
        [_name(), _sex(), _id(), _text("address"), _date("registration_date"),
         _text("registration_authority")],
    ),
    # --- enterprise ---
    _cls(
        "business_licence", "enterprise", "market_regulation", "营业执照", "Business Licence",
        [_text("company_name"), _uscc(), _text("company_type"), _text("legal_representative"),
         _int("registered_capital", lo=0), _date("established"), _text("address"),
         _text("business_scope")],
    ),
    _cls(
        "public_place_hygiene_licence", "enterprise", "health", "公共场所卫生许可证",
        "Public Place Hygiene Licence",
        [_text("company_name"), _uscc(), _text("legal_representative"), _text("address"),
         _text("licensed_activity"), _text("licence_number"), _date("valid_from"),
         _date("valid_until")],
        # 《公共场所卫生管理条例实施细则》第二十四条: valid four years.
        validity_years=4,
    ),
    _cls(
        "road_transport_operating_licence", "enterprise", "transport", "道路运输经营许可证",
        "Road Transport Operating Licence",
        [_text("company_name"), _uscc(), _text("legal_representative"), _text("address"),
         _text("licence_number"), _text("business_scope"), _date("valid_from"),
         _date("valid_until", optional=True)],
    ),
]  # fmt: skip


# --- counter types and service scenarios (用证清单) ------------------------------------------

COUNTER_TYPES: Final[dict[str, dict[str, str]]] = {
    "bus_station": {"zh": "汽车客运站售票窗口", "en": "bus station ticket office"},
    "city_bus_terminal": {"zh": "公交车载终端", "en": "on-board city bus terminal"},
    "provident_fund_office": {
        "zh": "住房公积金管理中心服务大厅",
        "en": "housing provident fund service hall",
    },
    "service_hall_window": {"zh": "政务服务中心窗口", "en": "government service centre window"},
    "self_service_kiosk": {"zh": "政务服务自助终端", "en": "self-service government kiosk"},
    "hospital_window": {"zh": "医院挂号收费窗口", "en": "hospital registration window"},
    "market_regulation_window": {
        "zh": "市场监管业务窗口",
        "en": "market regulation service window",
    },
    "hr_window": {"zh": "人社窗口", "en": "human resources and social security window"},
    "hotel_front_desk": {"zh": "酒店前台", "en": "hotel front desk"},
    "school_office": {"zh": "学校招生办公室", "en": "school enrolment office"},
    "police_station_window": {
        "zh": "公安派出所户籍窗口",
        "en": "police station household registration window",
    },
}

_OFFICE_HOURS: Final = {"from": "09:00", "to": "17:00"}


def _scenario(
    scenario_id: str,
    counter_type: str,
    purpose: str,
    zh: str,
    en: str,
    reads: dict[str, list[str]],
    hours: dict[str, str] | None = _OFFICE_HOURS,
) -> dict[str, Any]:
    return {
        "scenario": scenario_id,
        "counter_type": counter_type,
        "purpose": purpose,
        "names": {"zh": zh, "en": en},
        "reads": reads,
        "hours": None if hours is None else dict(hours),
    }


SCENARIOS: Final[list[dict[str, Any]]] = [
    _scenario(
        "bus_ticket", "bus_station", "ticket_purchase", "汽车客运实名购票",
        "Real-name bus ticket purchase",
        {"resident_id_card": ["name", "id_number"]},
        {"from": "06:00", "to": "20:00"},
    ),
    _scenario(
        "senior_fare_concession", "city_bus_terminal", "fare_concession", "老年人乘车优待",
        "Senior citizen bus fare concession",
        # Age and a valid card are all the fare rule needs; no name, no id number.
        {"senior_citizen_card": ["card_number", "birth_date"]},
        {"from": "05:30", "to": "21:30"},
    ),
    _scenario(
        "hotel_check_in", "hotel_front_desk", "accommodation_registration", "旅馆住宿登记",
        "Hotel check-in registration",
        {"resident_id_card": ["name", "id_number"]},
        None,
    ),
    _scenario(
        "provident_fund_withdrawal", "provident_fund_office", "housing_purchase_withdrawal",
        "购房提取住房公积金", "Provident fund withdrawal for a home purchase",
        {
            "resident_id_card": ["name", "id_number"],
            "provident_fund_record": ["name", "id_number", "account_number", "balance",
                                      "account_status"],
            "real_estate_title": ["certificate_number", "name", "id_number",
                                  "registration_date"],
        },
    ),
    _scenario(
        "kiosk_provident_fund_statement", "self_service_kiosk", "print_provident_fund_statement",
        "自助打印住房公积金缴存证明", "Self-service provident fund deposit statement",
        {"provident_fund_record": ["name", "account_number", "employer", "monthly_deposit",
                                   "balance", "account_status", "as_of"]},
        None,
    ),
    _scenario(
        "kiosk_social_insurance_record", "self_service_kiosk", "print_social_insurance_record",
        "自助打印社会保险参保证明", "Self-service social insurance record printout",
        {"social_insurance_record": ["name", "id_number", "employer", "insurance_type",
                                     "contribution_start", "months_contributed", "status",
                                     "as_of"]},
        None,
    ),
    _scenario(
        "kiosk_tax_record", "self_service_kiosk", "print_tax_record",
        "自助打印个人所得税纳税记录", "Self-service individual income tax record printout",
        {"individual_tax_certificate": ["name", "id_number", "period_from", "period_to",
                                        "tax_paid", "record_number"]},
        None,
    ),
    _scenario(
        "skill_subsidy_application", "hr_window", "skill_subsidy", "技能提升补贴申领",
        "Skill upgrading subsidy application",
        # The subsidy requires unemployment-insurance contributions; months and status
        # show that, the employer and start date are not needed.
        {
            "resident_id_card": ["name", "id_number"],
            "vocational_skill_certificate": ["name", "id_number", "occupation", "skill_level",
                                             "certificate_number", "issue_date"],
            "social_insurance_record": ["name", "id_number", "insurance_type",
                                        "months_contributed", "status"],
        },
    ),
    _scenario(
        "teacher_recruitment_review", "hr_window", "recruitment_qualification_review",
        "教师招聘资格审查", "Teacher recruitment eligibility review",
        {
            "resident_id_card": ["name", "id_number"],
            "teacher_qualification": ["name", "id_number", "qualification_type", "subject",
                                      "certificate_number"],
            "degree_certificate": ["name", "degree", "institution", "certificate_number"],
            "no_criminal_record_certificate": ["name", "id_number", "certificate_number",
                                               "issue_date"],
        },
    ),
    _scenario(
        "hygiene_licence_application", "market_regulation_window", "hygiene_licence",
        "公共场所卫生许可申请", "Public place hygiene licence application",
        # The licence is read only when it is being renewed.
        {
            "business_licence": ["company_name", "uscc", "legal_representative", "address"],
            "health_certificate": ["name", "id_number", "occupation_category", "valid_until"],
            "public_place_hygiene_licence": ["licence_number", "licensed_activity",
                                             "valid_until"],
        },
    ),
    _scenario(
        "road_transport_licence_renewal", "service_hall_window",
        "road_transport_licence_renewal", "道路运输经营许可证换证",
        "Road transport operating licence renewal",
        {
            "business_licence": ["company_name", "uscc", "legal_representative", "address"],
            "road_transport_operating_licence": ["licence_number", "business_scope",
                                                 "valid_until"],
        },
    ),
    _scenario(
        "disability_subsidy_application", "service_hall_window", "disability_subsidy",
        "残疾人两项补贴申请", "Disability living and care subsidy application",
        # 困难残疾人生活补贴 goes to households on the minimum living allowance,
        # 重度残疾人护理补贴 to grades one and two: category, grade and validity suffice.
        {
            "disability_certificate": ["name", "id_number", "disability_category",
                                       "disability_grade", "valid_until"],
            "minimum_living_allowance_certificate": ["name", "id_number",
                                                     "certificate_number", "valid_until"],
        },
    ),
    _scenario(
        "residence_permit_application", "police_station_window", "residence_permit_application",
        "居住证申领", "Residence permit application",
        # 《居住证暂行条例》第二条: half a year's residence plus stable employment (shown by
        # social insurance), a stable home or study.
        {
            "resident_id_card": ["name", "sex", "id_number", "address"],
            "residence_registration_certificate": ["name", "id_number", "address",
                                                   "registration_date"],
            "social_insurance_record": ["name", "id_number", "employer",
                                        "months_contributed", "status"],
        },
    ),
    _scenario(
        "hospital_registration", "hospital_window", "outpatient_registration", "门诊挂号",
        "Outpatient registration",
        {"electronic_health_card": ["name", "id_number", "card_number"]},
        {"from": "07:30", "to": "17:30"},
    ),
    _scenario(
        "blood_fee_reimbursement", "hospital_window", "blood_fee_reimbursement",
        "无偿献血者用血费用报销", "Blood-use fee reimbursement for voluntary donors",
        # 《献血法》第十四条: donors are exempt from blood-use fees.
        {
            "resident_id_card": ["name", "id_number"],
            "blood_donation_certificate": ["name", "id_number", "donation_type", "volume_ml",
                                           "donation_date", "certificate_number"],
        },
        {"from": "07:30", "to": "17:30"},
    ),
    _scenario(
        "school_vaccination_check", "school_office", "enrolment_vaccination_check",
        "入托入学预防接种证查验", "Vaccination check at school enrolment",
        {"vaccination_record": ["name", "birth_date", "vaccine", "dose", "vaccination_date"]},
        {"from": "08:00", "to": "17:00"},
    ),
]  # fmt: skip


def class_by_id() -> dict[str, dict[str, Any]]:
    """The asset classes keyed by their ``class`` id (deep copies: safe to modify)."""
    return {cls["class"]: copy.deepcopy(cls) for cls in CLASSES}


def scenario_by_id() -> dict[str, dict[str, Any]]:
    """The service scenarios keyed by their ``scenario`` id (deep copies: safe to modify)."""
    return {sc["scenario"]: copy.deepcopy(sc) for sc in SCENARIOS}
