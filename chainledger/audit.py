"""Audit: trace queries, anomaly rules and reports over the access log.

Auditors' own queries are ledger entries (``audit.query``, signed by the
auditor) appended before the answer is given, so who looked at whose history
is itself on the record.

Anomaly rules (thresholds are parameters):

* ``refusal_burst``: a counter with many refusals in a short window;
* ``many_holders``: a counter reading many distinct holders in a window;
* ``near_expiry``: a read in the last minutes before its grant expires;
* ``outside_hours``: a read outside its scenario's opening hours
  (local time, China Standard Time, UTC+8, no daylight saving).

Reports (CSV, JSON, HTML) carry ids, codes and counts only: no field value is
ever in the ledger tables, so none can be in a report.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from chainledger.clock import check_ts, parse_ts
from chainledger.errors import MalformedInput, SchemaError
from chainledger.rules import Context, Kind, apply_nothing
from chainledger.statement import SignedStatement
from chainledger.store.base import StateReader
from chainledger.store.projections import AccessFilter, AccessRow

__all__ = [
    "Anomaly",
    "AnomalyRules",
    "anomalies",
    "filter_from_query",
    "kinds",
    "report",
]

CST = timedelta(hours=8)
QUERY_KEYS = {
    "view", "holder", "asset", "counter", "issuer", "purpose", "outcome", "since", "until",
}  # fmt: skip
VIEWS = ("trace", "anomalies", "report")
_PARTY = re.compile(r"p_[a-z2-7]{16}")
_QUERY_VALUES = {
    "holder": _PARTY,
    "counter": _PARTY,
    "issuer": _PARTY,
    "asset": re.compile(r"a_[a-z2-7]{16}"),
    "purpose": re.compile(r"[a-z][a-z0-9_]{0,47}"),
    "view": re.compile(r"[a-z]{1,16}"),
    "outcome": re.compile(r"[a-z]{1,16}"),
}
_QUERY_WHAT = {
    "holder": "a party id",
    "counter": "a party id",
    "issuer": "a party id",
    "asset": "an asset id",
    "purpose": "a purpose code",
    "since": "a timestamp",
    "until": "a timestamp",
}


@dataclass(frozen=True, slots=True)
class Anomaly:
    rule: str
    counter: str
    seq: int  # the entry that triggered it (the last one of a burst)
    ts: str
    detail: str


@dataclass(frozen=True, slots=True)
class AnomalyRules:
    refusals: int = 5
    refusal_window: timedelta = timedelta(minutes=10)
    holders: int = 50
    holder_window: timedelta = timedelta(hours=1)
    near_expiry: timedelta = timedelta(minutes=10)


def filter_from_query(query: object, limit: int = 1000) -> AccessFilter:
    """An `AccessFilter` from an ``audit.query``'s query object (schema-checked)."""
    if not isinstance(query, dict) or not query or not set(query) <= QUERY_KEYS:
        raise SchemaError("query", "keys: " + ", ".join(sorted(QUERY_KEYS)))
    for key, value in query.items():
        # Only ids and codes: a query is a ledger entry, so it must never carry a
        # personal value (an id number typed into the holder field, say).
        pattern = _QUERY_VALUES.get(key)
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            raise SchemaError("query", f"{key} must be {_QUERY_WHAT.get(key, 'a code')}")
    if query.get("outcome") not in (None, "read", "denied"):
        raise SchemaError("query", "outcome must be read or denied")
    if query.get("view", "trace") not in VIEWS:
        raise SchemaError("query", "view must be trace, anomalies or report")
    try:
        for key in ("since", "until"):
            if key in query:
                check_ts(query[key], key)
    except MalformedInput as exc:
        raise SchemaError("query", exc.reason) from None
    return AccessFilter(
        holder=query.get("holder"),
        asset=query.get("asset"),
        counter=query.get("counter"),
        issuer=query.get("issuer"),
        purpose=query.get("purpose"),
        outcome=query.get("outcome"),
        since=query.get("since"),
        until=query.get("until"),
        limit=limit,
    )


def _check_query(state: StateReader, stmt: SignedStatement, ctx: Context) -> None:
    filter_from_query(stmt.stmt["query"])


def kinds() -> list[Kind]:
    return [
        Kind(
            "audit.query",
            frozenset({"auditor"}),
            frozenset({"query"}),
            _check_query,
            apply_nothing,
        )
    ]


def rows(state: StateReader, flt: AccessFilter, page: int = 10_000) -> Iterator[AccessRow]:
    """Every access row matching ``flt`` (ignoring its limit), paged by seq."""
    after = flt.after_seq
    while True:
        batch = state.access(
            AccessFilter(
                flt.holder, flt.asset, flt.counter, flt.issuer, flt.purpose, flt.outcome,
                flt.since, flt.until, after, page,
            )
        )  # fmt: skip
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].seq


def anomalies(
    state: StateReader,
    flt: AccessFilter = AccessFilter(),  # noqa: B008 - frozen
    rules: AnomalyRules = AnomalyRules(),
) -> list[Anomaly]:
    """Apply the anomaly rules to the access rows ``flt`` selects."""
    found: list[Anomaly] = []
    refusals: dict[str, deque[tuple[Any, int]]] = defaultdict(deque)
    holders: dict[str, deque[tuple[Any, str]]] = defaultdict(deque)
    flagged_burst: dict[str, Any] = {}
    flagged_many: dict[str, Any] = {}
    grants: dict[str, Any] = {}
    scenarios: dict[str, Any] = {}
    for row in rows(state, flt):
        t = parse_ts(row.ts)
        if row.outcome == "denied":
            q = refusals[row.counter]
            q.append((t, row.seq))
            while q and t - q[0][0] > rules.refusal_window:
                q.popleft()
            last = flagged_burst.get(row.counter)
            if len(q) >= rules.refusals and (last is None or t - last > rules.refusal_window):
                flagged_burst[row.counter] = t
                found.append(
                    Anomaly("refusal_burst", row.counter, row.seq, row.ts,
                            f"{len(q)} refusals within {rules.refusal_window}")
                )  # fmt: skip
            continue
        hq = holders[row.counter]
        hq.append((t, row.holder or ""))
        while hq and t - hq[0][0] > rules.holder_window:
            hq.popleft()
        distinct = len({h for _, h in hq})
        last = flagged_many.get(row.counter)
        if distinct >= rules.holders and (last is None or t - last > rules.holder_window):
            flagged_many[row.counter] = t
            found.append(
                Anomaly("many_holders", row.counter, row.seq, row.ts,
                        f"{distinct} distinct holders within {rules.holder_window}")
            )  # fmt: skip
        if row.grant is None:
            continue
        grant = grants.get(row.grant)
        if grant is None:
            grant = grants[row.grant] = state.grant(row.grant)
        if grant is None:
            continue
        left = parse_ts(grant.expires) - t
        if left <= rules.near_expiry:
            found.append(
                Anomaly("near_expiry", row.counter, row.seq, row.ts,
                        f"read {int(left.total_seconds())} s before the grant expired")
            )  # fmt: skip
        scenario = scenarios.get(grant.scenario)
        if scenario is None:
            scenario = scenarios[grant.scenario] = state.scenario(grant.scenario) or {}
        hours = scenario.get("hours")
        if hours:
            local = (t + CST).strftime("%H:%M")
            inside = (
                hours["from"] <= local < hours["to"]
                if hours["from"] <= hours["to"]
                else not hours["to"] <= local < hours["from"]  # opening hours past midnight
            )
            if not inside:
                found.append(
                    Anomaly("outside_hours", row.counter, row.seq, row.ts,
                            f"read at {local} CST, open {hours['from']}-{hours['to']}")
                )  # fmt: skip
    return found


def summary(state: StateReader, flt: AccessFilter) -> dict[str, Any]:
    per_counter: dict[str, Counter[str]] = defaultdict(Counter)
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in rows(state, flt):
        total[row.outcome] += 1
        per_counter[row.counter][row.outcome] += 1
        per_class[row.cls or "(unknown)"][row.outcome] += 1
        per_day[row.ts[:10]][row.outcome] += 1
        if row.reason:
            reasons[row.reason] += 1
    return {
        "since": flt.since,
        "until": flt.until,
        "filter": {
            k: v
            for k, v in asdict(flt).items()
            if v is not None and k not in ("since", "until", "after_seq", "limit")
        },
        "reads": total["read"],
        "refusals": total["denied"],
        "per_counter": {k: dict(v) for k, v in sorted(per_counter.items())},
        "per_class": {k: dict(v) for k, v in sorted(per_class.items())},
        "per_day": {k: dict(v) for k, v in sorted(per_day.items())},
        "refusal_reasons": dict(reasons.most_common()),
    }


def report(
    state: StateReader,
    fmt: str,
    flt: AccessFilter = AccessFilter(),  # noqa: B008 - frozen
) -> str:
    """An audit report as ``csv`` (the access log), ``json`` or ``html`` (summary, charts,
    anomalies)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        columns = [
            "seq", "ts", "counter", "holder", "asset", "cls", "issuer", "grant", "purpose",
            "outcome", "reason",
        ]  # fmt: skip
        writer.writerow(columns)
        for row in rows(state, flt):
            writer.writerow(
                [getattr(row, c) if getattr(row, c) is not None else "" for c in columns]
            )
        return out.getvalue()
    data = summary(state, flt)
    data["anomalies"] = [asdict(a) for a in anomalies(state, flt)]
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        return _html(data)
    raise SchemaError("format", "must be csv, json or html")


def _bars(title: str, counts: dict[str, dict[str, int]]) -> str:
    """A horizontal bar chart (reads and refusals) as inline SVG."""
    items = sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))[:20]
    top = max((sum(v.values()) for _, v in items), default=1) or 1
    height = 22 * len(items) + 30
    parts = [
        f'<svg role="img" aria-label="{html.escape(title)}" width="640" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="12">'
    ]
    for i, (name, v) in enumerate(items):
        y = 20 + 22 * i
        reads, refusals = v.get("read", 0), v.get("denied", 0)
        w_read, w_ref = 380 * reads / top, 380 * refusals / top
        parts.append(
            f'<text x="0" y="{y + 12}">{html.escape(name[:30])}</text>'
            f'<rect x="220" y="{y}" width="{w_read:.1f}" height="16" fill="#2b6cb0"/>'
            f'<rect x="{220 + w_read:.1f}" y="{y}" width="{w_ref:.1f}" height="16" fill="#c05621"/>'
            f'<text x="{226 + w_read + w_ref:.1f}" y="{y + 12}">{reads} / {refusals}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _html(data: dict[str, Any]) -> str:
    e = html.escape
    rows_html = "".join(
        f"<tr><td>{e(a['rule'])}</td><td>{e(a['counter'])}</td><td>{a['seq']}</td>"
        f"<td>{e(a['ts'])}</td><td>{e(a['detail'])}</td></tr>"
        for a in data["anomalies"]
    )
    reasons = "".join(
        f"<tr><td>{e(k)}</td><td>{v}</td></tr>" for k, v in data["refusal_reasons"].items()
    )
    period = f"{data['since'] or 'the beginning'} to {data['until'] or 'now'}"
    if data.get("filter"):
        period += "; " + ", ".join(f"{k} {v}" for k, v in sorted(data["filter"].items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chainledger audit report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#1a202c}}
table{{border-collapse:collapse}}td,th{{border:1px solid #a0aec0;padding:.25rem .5rem}}
.key span{{display:inline-block;width:1em;height:1em;vertical-align:middle}}</style></head>
<body><h1>Audit report</h1>
<p>Period: {e(period)}. Reads: <strong>{data["reads"]}</strong>,
refusals: <strong>{data["refusals"]}</strong>.</p>
<p class="key"><span style="background:#2b6cb0"></span> reads
<span style="background:#c05621"></span> refusals</p>
<h2>Reads per counter</h2>{_bars("reads and refusals per counter", data["per_counter"])}
<h2>Reads per asset class</h2>{_bars("reads and refusals per class", data["per_class"])}
<h2>Reads per day</h2>{_bars("reads and refusals per day", data["per_day"])}
<h2>Refusal reasons</h2><table><tr><th>reason</th><th>count</th></tr>{reasons}</table>
<h2>Anomalies ({len(data["anomalies"])})</h2>
<table><tr><th>rule</th><th>counter</th><th>seq</th><th>time</th><th>detail</th></tr>
{rows_html}</table></body></html>
"""
