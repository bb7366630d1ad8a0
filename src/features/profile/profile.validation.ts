// Validation and normalisation of profile fields, one function per kind of value. Each returns the
// value to store: a string, null (clear it) or undefined (field not given: leave it), and adds at
// most one field error (after which its return value means nothing: the caller throws). Limits are in code points after trimming and NFC normalisation.
import { FIELD, type InputCheck } from "../../core/errors.js";
import { PHONE, toE164 } from "../../core/phone.js";
import { PROFILE } from "./profile.errors.js";
import type { ProfileField } from "./profile.model.js";

export const PROFILE_LIMITS = {
  firstName: 100,
  lastName: 100,
  address: 200,
  city: 100,
  postalCode: 16,
  phone: 32,
  avatarUrl: 2048,
} as const;

/**
 * Refused everywhere: C0/C1 controls and DEL (\p{Cc}), line/paragraph separators, bidirectional
 * overrides, isolates and marks (text that displays in another order than it is stored), zero
 * width space and word joiners, BOM, interlinear annotation marks, non-characters and Unicode tag
 * characters (hidden ASCII). ZWJ/ZWNJ stay: several scripts and emoji need them.
 */
const FORBIDDEN = /[\p{Cc}\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff\u{e0000}-\u{e007f}]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const codePoints = (s: string): number => [...s].length;

/**
 * Common first step of every field: undefined stays undefined, null and blank become null, raw
 * input far beyond the limit is refused before any work, then NFC + trim + character check +
 * length. Returns undefined after adding an error (the caller stops there).
 */
export function cleanText(check: InputCheck, field: ProfileField, raw: string | null | undefined, max: number): string | null | undefined {
  if (raw === undefined || raw === null) return raw;
  // Normalisation can at most triple a string's length; 4× the limit is a generous early cut.
  if (raw.length > max * 4 + 16) return void check.add(field, FIELD.TOO_LONG, `At most ${max} characters.`);
  if (LONE_SURROGATE.test(raw)) return void check.add(field, PROFILE.INVALID_CHARACTERS);
  const value = raw.normalize("NFC").trim();
  if (FORBIDDEN.test(value)) return void check.add(field, PROFILE.INVALID_CHARACTERS);
  if (value === "") return null;
  if (codePoints(value) > max) return void check.add(field, FIELD.TOO_LONG, `At most ${max} characters.`);
  return value;
}

/** A value to store, null to clear, undefined when not given (or after an error: check.throwIfAny() first). */
type Out = string | null | undefined;

export function checkName(check: InputCheck, field: "firstName" | "lastName" | "city" | "address", raw: string | null | undefined): Out {
  return cleanText(check, field, raw, PROFILE_LIMITS[field]);
}

/** `YYYY-MM-DD`, a real calendar date, from 1900-01-01 to the latest date anywhere on Earth now (UTC+14). */
export function checkDateOfBirth(check: InputCheck, raw: string | null | undefined, now: Date): Out {
  // A generous length, so a datetime or other wrong format is told as such, not as TOO_LONG.
  const v = cleanText(check, "dateOfBirth", raw, 32);
  if (!v) return v;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const bad = () => void check.add("dateOfBirth", PROFILE.INVALID_DATE_OF_BIRTH);
  if (!m) return bad();
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const date = new Date(t);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return bad();
  const latest = new Date(now.getTime() + 14 * 3_600_000).toISOString().slice(0, 10);
  if (y < 1900 || v > latest) return bad();
  return v;
}

/** E.164 after normalisation (core/phone.ts: the rule second factors by SMS use too). */
export function checkPhone(check: InputCheck, raw: string | null | undefined): Out {
  const v = cleanText(check, "phone", raw, PROFILE_LIMITS.phone);
  if (!v) return v;
  return toE164(v) ?? void check.add("phone", PHONE.PHONE_INVALID);
}

/** The 249 officially assigned ISO 3166-1 alpha-2 codes (no reserved ones such as UK, EU, XK). */
const COUNTRIES = new Set(
  (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
    "KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
    "MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
    "UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
  ).split(" "),
);
export const COUNTRY_CODES: readonly string[] = [...COUNTRIES];

export function checkCountry(check: InputCheck, raw: string | null | undefined): Out {
  const v = cleanText(check, "country", raw, 2);
  if (!v) return v;
  const code = /^[A-Za-z]{2}$/.test(v) ? v.toUpperCase() : "";
  if (!COUNTRIES.has(code)) return void check.add("country", PROFILE.INVALID_COUNTRY);
  return code;
}

/** ASCII letters and digits with single inner spaces or dashes; stored upper-cased. */
export function checkPostalCode(check: InputCheck, raw: string | null | undefined): Out {
  const v = cleanText(check, "postalCode", raw, PROFILE_LIMITS.postalCode);
  if (!v) return v;
  const code = v.replace(/\s+/gu, " ").toUpperCase();
  if (!/^[A-Z0-9]+(?:[ -][A-Z0-9]+)*$/.test(code)) return void check.add("postalCode", PROFILE.INVALID_POSTAL_CODE);
  return code;
}

/**
 * An absolute https URL with a host and no credentials, stored as the URL parser writes it back
 * (lower-cased host, punycode, percent-encoding), so what is stored is what any client will load.
 * Whitespace inside is refused rather than stripped (the parser would drop tabs and newlines).
 */
export function checkAvatarUrl(check: InputCheck, raw: string | null | undefined): Out {
  const v = cleanText(check, "avatarUrl", raw, PROFILE_LIMITS.avatarUrl);
  if (!v) return v;
  const bad = () => void check.add("avatarUrl", PROFILE.INVALID_AVATAR_URL);
  if (/\s/u.test(v) || v.includes("\\")) return bad();
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return bad();
  }
  if (url.protocol !== "https:" || !url.hostname || url.username || url.password) return bad();
  if (!/^https:\/\//i.test(v)) return bad(); // "https:host" parses, but is not what anyone meant
  if (url.href.length > PROFILE_LIMITS.avatarUrl) return void check.add("avatarUrl", FIELD.TOO_LONG, `At most ${PROFILE_LIMITS.avatarUrl} characters.`);
  return url.href;
}
