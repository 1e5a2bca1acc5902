// Typed configuration values (reference §4): every service config value travels as a string and is
// checked against its parameter's Type/IsList. The checks mirror the Go parsers the original called
// (strconv.ParseInt/ParseFloat/ParseBool and encoding/json into []int64/[]float64/[]bool/[]string),
// because values already accepted by deployed Michman installs and the bundled init/*.json catalogue
// must stay valid here.
import { validList } from './suggest.js';
import { validation } from './errors.js';

export type ParamType = 'int' | 'float' | 'bool' | 'string';

const PARAM_TYPES: ReadonlySet<string> = new Set<ParamType>(['int', 'float', 'bool', 'string']);

export function isSupportedParamType(t: string): t is ParamType {
  return PARAM_TYPES.has(t);
}

// Fields are optional because the wire model (domain/wire.ts) makes every field optional; a missing
// Type behaves as an unknown type, a missing IsList as false, like the original's zero values.
export interface ConfigParam {
  ParameterName?: string;
  Type?: string;
  IsList?: boolean;
  PossibleValues?: string[] | null;
}

export interface ConfigParamDefinition extends ConfigParam {
  DefaultValue?: string;
}

// ---------------------------------------------------------------------------------------------------
// Scalars

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// strconv.ParseInt(v, 10, 32): an explicit base 10 forbids prefixes and underscores.
function isGoInt32(v: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(v)) return false;
  const n = BigInt(v.startsWith('+') ? v.slice(1) : v);
  return n >= INT32_MIN && n <= INT32_MAX;
}

const GO_BOOLS: ReadonlySet<string> = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

// Go's lower(): only ASCII letters can map onto the letters it is compared with.
const lower = (c: number): number => c | 0x20;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHexLetter = (c: number): boolean => lower(c) >= 0x61 && lower(c) <= 0x66;

function commonPrefixLenIgnoreCase(s: string, prefix: string): number {
  const n = Math.min(prefix.length, s.length);
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== prefix.charCodeAt(i)) return i;
  }
  return n;
}

// strconv's special(): returns how many characters an Inf/Infinity/NaN spelling consumed, or 0.
// Go does not fall back to number parsing once a special prefix matched, so "infx" is an error and
// "+nan" (sign only allowed before Inf) is not special at all.
function specialLength(s: string): number {
  let sign = 0;
  let rest = s;
  if (rest[0] === '+' || rest[0] === '-') {
    sign = 1;
    rest = rest.slice(1);
  }
  const c = rest[0];
  if (c === 'i' || c === 'I' || sign === 1) {
    let n = commonPrefixLenIgnoreCase(rest, 'infinity');
    if (n > 3 && n < 8) n = 3;
    if (n === 3 || n === 8) return sign + n;
    return 0;
  }
  if (c === 'n' || c === 'N') return commonPrefixLenIgnoreCase(rest, 'nan') === 3 ? 3 : 0;
  return 0;
}

// strconv's underscoreOK: "_" may only sit between digits, or between a base prefix and a digit.
function underscoreOK(str: string): boolean {
  let s = str;
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0') {
    const p = lower(s.charCodeAt(1));
    if (p === 0x62 || p === 0x6f || p === 0x78) {
      i = 2;
      saw = '0';
      hex = p === 0x78;
    }
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c) || (hex && isHexLetter(c))) {
      saw = '0';
      continue;
    }
    if (c === 0x5f) {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

interface ReadFloat {
  end: number;
  hex: boolean;
  // Hex only: exact value = mantissa * 2^exp2, used to detect overflow precisely.
  mantissa: bigint;
  exp2: number;
}

// Port of strconv.readFloat's syntax rules. Go's ParseFloat accepts "_" in decimal literals too
// (Go float-literal syntax: 1_000.5), so they are allowed wherever underscoreOK allows them.
function readFloat(s: string): ReadFloat | null {
  let i = 0;
  if (s[i] === '+' || s[i] === '-') i++;
  let hex = false;
  let expChar = 0x65; // 'e'
  if (i + 2 < s.length && s[i] === '0' && lower(s.charCodeAt(i + 1)) === 0x78) {
    hex = true;
    expChar = 0x70; // 'p'
    i += 2;
  }
  let underscores = false;
  let sawDot = false;
  let sawDigits = false;
  let hexDigits = '';
  let fracDigits = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5f) {
      underscores = true;
      continue;
    }
    if (c === 0x2e) {
      if (sawDot) break;
      sawDot = true;
      continue;
    }
    if (isDigit(c) || (hex && isHexLetter(c))) {
      sawDigits = true;
      if (hex) {
        hexDigits += s[i];
        if (sawDot) fracDigits++;
      }
      continue;
    }
    break;
  }
  if (!sawDigits) return null;
  let exp = 0;
  if (i < s.length && lower(s.charCodeAt(i)) === expChar) {
    i++;
    if (i >= s.length) return null;
    let esign = 1;
    if (s[i] === '+') i++;
    else if (s[i] === '-') {
      i++;
      esign = -1;
    }
    if (i >= s.length || !isDigit(s.charCodeAt(i))) return null;
    let e = 0;
    for (; i < s.length && (isDigit(s.charCodeAt(i)) || s[i] === '_'); i++) {
      if (s[i] === '_') {
        underscores = true;
        continue;
      }
      // Same saturation as Go: the exact value of an absurd exponent does not change the outcome.
      if (e < 10000) e = e * 10 + (s.charCodeAt(i) - 0x30);
    }
    exp = e * esign;
  } else if (hex) {
    return null; // a hex float must carry a 'p' exponent
  }
  if (underscores && !underscoreOK(s.slice(0, i))) return null;
  return {
    end: i,
    hex,
    mantissa: hex ? BigInt('0x' + hexDigits) : 0n,
    exp2: exp - 4 * fracDigits,
  };
}

// Whether a hex float's exact value rounds (to nearest even, 53 bits) to at least 2^1024.
function hexOverflows(mantissa: bigint, exp2: number): boolean {
  if (mantissa === 0n) return false;
  const bits = mantissa.toString(2).length;
  const top = bits - 1 + exp2;
  if (top < 1023) return false;
  if (top > 1023) return true;
  if (bits <= 53) return false;
  const shift = BigInt(bits - 53);
  const q = mantissa >> shift;
  const rem = mantissa & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  const roundsUp = rem > half || (rem === half && (q & 1n) === 1n);
  return roundsUp && q + 1n === 1n << 53n;
}

// strconv.ParseFloat(v, 64) succeeds: full-string syntax match and no overflow (ErrRange). Underflow
// to zero is not an error in Go, and Number() underflows the same way.
function isGoFloat64(v: string): boolean {
  if (v.length === 0) return false;
  const special = specialLength(v);
  if (special > 0) return special === v.length;
  const r = readFloat(v);
  if (r === null || r.end !== v.length) return false;
  if (r.hex) return !hexOverflows(r.mantissa, r.exp2);
  // JS decimal-literal syntax is a superset of what readFloat accepted once "_" is removed, and both
  // round correctly, so the overflow threshold is identical.
  return Number.isFinite(Number(v.replace(/_/g, '')));
}

// ---------------------------------------------------------------------------------------------------
// Lists: json.Unmarshal of the value into a Go slice.

function parseJson(v: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(v) as unknown };
  } catch {
    return { ok: false };
  }
}

function isValidList(type: ParamType, v: string): boolean {
  const parsed = parseJson(v);
  if (!parsed.ok) return false;
  const value = parsed.value;
  // Go leaves a nil slice for JSON null without error.
  if (value === null) return true;
  if (!Array.isArray(value)) return false;
  // A null element leaves the zero value in Go, for every element type (including string: "").
  const elems = value.filter((e) => e !== null);
  switch (type) {
    case 'string':
      return elems.every((e) => typeof e === 'string');
    case 'bool':
      return elems.every((e) => typeof e === 'boolean');
    case 'float':
      // 1e400 parses to Infinity here but is an ErrRange (hence a decode error) in Go.
      return elems.every((e) => typeof e === 'number' && Number.isFinite(e));
    case 'int': {
      if (!elems.every((e) => typeof e === 'number')) return false;
      // Go decodes into int64 with ParseInt on the literal text, so 1.0 and 1e2 fail and precision
      // beyond 2^53 matters; JSON.parse loses both. The array holds only numbers and null here, so the
      // text has no strings and every number literal can be picked out directly.
      const literals = v.match(/-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/g) ?? [];
      return literals.every((lit) => {
        if (!/^-?(?:0|[1-9][0-9]*)$/.test(lit)) return false;
        const n = BigInt(lit);
        return n >= INT64_MIN && n <= INT64_MAX;
      });
    }
  }
}

/**
 * Whether `value` is valid for a parameter of `type`/`isList` (reference §4). Unknown types accept
 * anything: the original only reached them through config PUT without a Type.
 */
export function isValidValue(type: string, isList: boolean, value: string): boolean {
  if (!isSupportedParamType(type)) return true;
  if (isList) return isValidList(type, value);
  switch (type) {
    case 'int':
      return isGoInt32(value);
    case 'float':
      return isGoFloat64(value);
    case 'bool':
      return GO_BOOLS.has(value);
    case 'string':
      return true;
  }
}

/** Removes every U+0020 (only that character, even inside quoted strings), as the original did. */
export function stripSpaces(v: string): string {
  return v.replaceAll(' ', '');
}

// ---------------------------------------------------------------------------------------------------
// Parameter definitions

/**
 * Validates a parameter definition's PossibleValues/DefaultValue (reference §3.3 "Config rules", §4)
 * and returns the values to store (space-stripped for list parameters), or null when there are none.
 * Fixed relative to the original: an empty list is a 400 instead of a crash, the last value is
 * checked for emptiness/duplicates too, and a list default is stripped before comparison.
 */
export function normalizePossibleValues(p: ConfigParamDefinition): string[] | null {
  const values = p.PossibleValues;
  if (values === null || values === undefined) return null;
  const name = p.ParameterName ?? '';
  if (values.length === 0) {
    throw validation(`config possible value is empty: parameter '${name}' has an empty PossibleValues list`);
  }
  const type = p.Type ?? '';
  const isList = p.IsList === true;
  for (const v of values) {
    if (!isValidValue(type, isList, v)) throw validation(`config possible value ${v} set incorrectly`);
  }
  const stored = isList ? values.map(stripSpaces) : [...values];

  // Same reporting order as the original's scan: the first position that is empty or has a later twin.
  const counts = new Map<string, number>();
  for (const v of stored) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const v of stored) {
    if (v === '') throw validation(`config possible value is empty: parameter '${name}' has an empty value`);
    if ((counts.get(v) ?? 0) > 1) throw validation(`config possible value ${v} is not unique`);
  }

  const def = p.DefaultValue;
  if (def === undefined || def === '') {
    throw validation(
      `service type version config default value must be set: parameter '${name}' has PossibleValues`,
    );
  }
  const wanted = isList ? stripSpaces(def) : def;
  if (!stored.includes(wanted)) {
    throw validation(
      `service type version config default value '${def}' of parameter '${name}' not in possible values`,
    );
  }
  return stored;
}

// ---------------------------------------------------------------------------------------------------
// Cluster service configs

/** Checks one user-supplied value of a cluster service's Config against its parameter. */
export function checkParamValue(serviceType: string, param: ConfigParam, value: string): void {
  const key = param.ParameterName ?? '';
  const isList = param.IsList === true;
  if (!isValidValue(param.Type ?? '', isList, value)) {
    throw validation(`'${serviceType}' service config param '${key}' has incorrect value type`);
  }
  const possible = param.PossibleValues;
  if (possible === null || possible === undefined) return;
  // Stored list values were stripped at definition time; element order still matters.
  const candidate = isList ? stripSpaces(value) : value;
  if (!possible.includes(candidate)) {
    throw validation(`'${serviceType}' service config param '${key}' value is not supported`);
  }
}

/**
 * Validates a cluster service's Config map against the parameters of its version. Keys are visited in
 * sorted order so that, with several bad keys, the reported one is deterministic (Go's map order was
 * random).
 */
export function validateServiceConfigs(
  serviceType: string,
  params: readonly ConfigParam[],
  config: Readonly<Record<string, string>>,
): void {
  const byName = new Map<string, ConfigParam>();
  for (const p of params) {
    const n = p.ParameterName ?? '';
    // The original stopped at the first parameter with the name.
    if (!byName.has(n)) byName.set(n, p);
  }
  for (const key of Object.keys(config).sort()) {
    const param = byName.get(key);
    if (param === undefined) {
      const names = [...byName.keys()].filter(Boolean);
      throw validation(`'${serviceType}' service config param name '${key}' is not supported; ${validList(key, names, 'parameters')}`);
    }
    checkParamValue(serviceType, param, config[key] as string);
  }
}
