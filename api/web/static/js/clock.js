// Timestamps on the wire (chainledger/clock.py): RFC 3339 UTC with exactly three
// fractional digits and a "Z" (2026-11-26T13:45:00.123Z), one textual form per instant.

import { MalformedInput } from "./errors.js";

const TS = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
const pad = (n, width) => String(n).padStart(width, "0");

/** A Date as RFC 3339 UTC with milliseconds (a Date has no finer precision to truncate). */
export function formatTs(date) {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError("formatTs needs a valid Date");
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError("year outside 0000-9999");
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.` +
    `${pad(date.getUTCMilliseconds(), 3)}Z`;
}

function realDate(y, m, d) {
  // Python's date(): years 1..9999, and the day must exist in that month.
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(2000, m, 0)).getUTCDate(); // a leap year: February has 29
  if (m === 2) return d <= (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28);
  return d <= days;
}

/** Throw MalformedInput unless `text` is the one accepted timestamp form; return it. */
export function checkTs(text, what = "ts") {
  if (
    typeof text !== "string" || !TS.test(text) ||
    !realDate(Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10))) ||
    text.slice(11, 13) > "23" || text.slice(14, 16) > "59" || text.slice(17, 19) > "59"
  ) {
    throw new MalformedInput(what, "must be an RFC 3339 UTC timestamp like 2026-11-26T13:45:00.123Z");
  }
  return text;
}
