// A small, bounded JSON parser (RFC 8259) for the plugin configuration.
//
// Written here because no AssemblyScript JSON library works with 0.28 within
// the filter's size budget. It never traps on any input: every read is checked
// against the end, nesting is limited to MAX_DEPTH, input must be valid UTF-8,
// and errors come back as a message with a byte offset.

const MAX_DEPTH: i32 = 32;

export enum JsonKind { Null, Bool, Number, String, Array, Object }

export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  /** Array elements, or object values (parallel to `keys`). */
  items: Array<JsonValue> | null = null;
  /** Object keys, in document order. */
  keys: Array<string> | null = null;

  /** Member of an object (the last one when a key repeats), or null. */
  get(key: string): JsonValue | null {
    const keys = this.keys;
    const items = this.items;
    if (this.kind != JsonKind.Object || keys == null || items == null) return null;
    for (let i = keys.length - 1; i >= 0; i--) {
      if (keys[i] == key) return items[i];
    }
    return null;
  }

  get length(): i32 {
    const items = this.items;
    return items == null ? 0 : items.length;
  }

  /** Element i of an array (caller checks 0 <= i < length). */
  at(i: i32): JsonValue {
    return (this.items as Array<JsonValue>)[i];
  }
}

export class JsonResult {
  constructor(public value: JsonValue | null, public error: string, public offset: i32) {}
}

/** Parses a whole document; trailing non-whitespace is an error. */
export function parseJson(bytes: ArrayBuffer): JsonResult {
  const p = new Parser(changetype<usize>(bytes), bytes.byteLength);
  p.skipWhitespace();
  const value = p.parseValue(0);
  if (value != null) {
    p.skipWhitespace();
    if (p.pos < p.len) p.fail("unexpected data after the JSON value");
  }
  if (p.error.length > 0) return new JsonResult(null, p.error, p.errorAt);
  return new JsonResult(value, "", 0);
}

// 10^0 .. 10^22 are exact doubles.
const EXACT_POWERS: StaticArray<f64> = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

function scaleByPowerOfTen(mantissa: f64, exponent: i32): f64 {
  // Exact (correctly rounded) when mantissa < 2^53 and |exponent| <= 22; close enough otherwise.
  let value = mantissa;
  while (exponent > 22) { value *= 1e22; exponent -= 22; }
  while (exponent < -22) { value /= 1e22; exponent += 22; }
  return exponent >= 0 ? value * EXACT_POWERS[exponent] : value / EXACT_POWERS[-exponent];
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  errorAt: i32 = 0;

  constructor(public base: usize, public len: i32) {}

  byteAt(i: i32): i32 {
    return i < this.len ? <i32>load<u8>(this.base + <usize>i) : -1;
  }

  fail(message: string): JsonValue | null {
    if (this.error.length == 0) {
      this.error = message;
      this.errorAt = this.pos;
    }
    return null;
  }

  skipWhitespace(): void {
    while (this.pos < this.len) {
      const c = this.byteAt(this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  parseValue(depth: i32): JsonValue | null {
    const c = this.byteAt(this.pos);
    if (c == 0x7b) return this.parseObject(depth + 1);
    if (c == 0x5b) return this.parseArray(depth + 1);
    if (c == 0x22) {
      const s = this.parseString();
      if (s == null) return null;
      const v = new JsonValue();
      v.kind = JsonKind.String;
      v.str = s;
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
    if (c == 0x74) return this.parseLiteral("true", JsonKind.Bool, true);
    if (c == 0x66) return this.parseLiteral("false", JsonKind.Bool, false);
    if (c == 0x6e) return this.parseLiteral("null", JsonKind.Null, false);
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character");
  }

  parseLiteral(word: string, kind: JsonKind, value: bool): JsonValue | null {
    for (let i = 0; i < word.length; i++) {
      if (this.byteAt(this.pos + i) != word.charCodeAt(i)) return this.fail("invalid literal");
    }
    this.pos += word.length;
    const v = new JsonValue();
    v.kind = kind;
    v.bool = value;
    return v;
  }

  parseObject(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("nesting too deep");
    this.pos++; // {
    const keys = new Array<string>();
    const items = new Array<JsonValue>();
    this.skipWhitespace();
    if (this.byteAt(this.pos) == 0x7d) {
      this.pos++;
    } else {
      while (true) {
        if (this.byteAt(this.pos) != 0x22) return this.fail("expected a string key");
        const key = this.parseString();
        if (key == null) return null;
        this.skipWhitespace();
        if (this.byteAt(this.pos) != 0x3a) return this.fail("expected ':'");
        this.pos++;
        this.skipWhitespace();
        const value = this.parseValue(depth);
        if (value == null) return null;
        keys.push(key);
        items.push(value);
        this.skipWhitespace();
        const c = this.byteAt(this.pos);
        if (c == 0x2c) {
          this.pos++;
          this.skipWhitespace();
          continue;
        }
        if (c == 0x7d) {
          this.pos++;
          break;
        }
        return this.fail("expected ',' or '}'");
      }
    }
    const v = new JsonValue();
    v.kind = JsonKind.Object;
    v.keys = keys;
    v.items = items;
    return v;
  }

  parseArray(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("nesting too deep");
    this.pos++; // [
    const items = new Array<JsonValue>();
    this.skipWhitespace();
    if (this.byteAt(this.pos) == 0x5d) {
      this.pos++;
    } else {
      while (true) {
        const value = this.parseValue(depth);
        if (value == null) return null;
        items.push(value);
        this.skipWhitespace();
        const c = this.byteAt(this.pos);
        if (c == 0x2c) {
          this.pos++;
          this.skipWhitespace();
          continue;
        }
        if (c == 0x5d) {
          this.pos++;
          break;
        }
        return this.fail("expected ',' or ']'");
      }
    }
    const v = new JsonValue();
    v.kind = JsonKind.Array;
    v.items = items;
    return v;
  }

  /** Length of the valid UTF-8 sequence starting at pos (lead byte >= 0x80), or 0. */
  utf8SequenceLength(pos: i32): i32 {
    const b0 = this.byteAt(pos);
    let n = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      n = 3;
      if (b0 == 0xe0) lo = 0xa0;
      if (b0 == 0xed) hi = 0x9f; // no UTF-16 surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      n = 4;
      if (b0 == 0xf0) lo = 0x90;
      if (b0 == 0xf4) hi = 0x8f;
    } else return 0;
    const b1 = this.byteAt(pos + 1);
    if (b1 < lo || b1 > hi) return 0;
    for (let i = 2; i < n; i++) {
      const b = this.byteAt(pos + i);
      if (b < 0x80 || b > 0xbf) return 0;
    }
    return n;
  }

  hex4(pos: i32): i32 {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.byteAt(pos + i);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      value = (value << 4) | d;
    }
    return value;
  }

  parseString(): string | null {
    this.pos++; // opening quote
    const start = this.pos;
    let escaped = false;
    // First pass: validate and find the end.
    while (true) {
      const c = this.byteAt(this.pos);
      if (c < 0) {
        this.fail("unterminated string");
        return null;
      }
      if (c == 0x22) break;
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c == 0x5c) {
        escaped = true;
        const e = this.byteAt(this.pos + 1);
        if (e == 0x75) {
          if (this.hex4(this.pos + 2) < 0) {
            this.fail("invalid \\u escape");
            return null;
          }
          this.pos += 6;
        } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
          this.pos += 2;
        } else {
          this.fail("invalid escape");
          return null;
        }
        continue;
      }
      if (c >= 0x80) {
        const n = this.utf8SequenceLength(this.pos);
        if (n == 0) {
          this.fail("invalid UTF-8");
          return null;
        }
        this.pos += n;
        continue;
      }
      this.pos++;
    }
    const end = this.pos;
    this.pos++; // closing quote
    const rawLength = end - start;
    if (!escaped) return String.UTF8.decodeUnsafe(this.base + <usize>start, <usize>rawLength);
    // Second pass: unescape into UTF-8 (never longer than the raw text), then decode.
    const out = new ArrayBuffer(rawLength);
    const outBase = changetype<usize>(out);
    let o: usize = 0;
    let i = start;
    while (i < end) {
      const c = this.byteAt(i);
      if (c != 0x5c) {
        store<u8>(outBase + o++, <u8>c);
        i++;
        continue;
      }
      const e = this.byteAt(i + 1);
      if (e != 0x75) {
        let b = e; // " \ /
        if (e == 0x62) b = 0x08;
        else if (e == 0x66) b = 0x0c;
        else if (e == 0x6e) b = 0x0a;
        else if (e == 0x72) b = 0x0d;
        else if (e == 0x74) b = 0x09;
        store<u8>(outBase + o++, <u8>b);
        i += 2;
        continue;
      }
      let cp = this.hex4(i + 2);
      i += 6;
      if (cp >= 0xd800 && cp <= 0xdbff && this.byteAt(i) == 0x5c && this.byteAt(i + 1) == 0x75) {
        const low = this.hex4(i + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i += 6;
        }
      }
      // Lone surrogates are kept as 3-byte sequences, which decode back to themselves.
      if (cp < 0x80) {
        store<u8>(outBase + o++, <u8>cp);
      } else if (cp < 0x800) {
        store<u8>(outBase + o++, <u8>(0xc0 | (cp >> 6)));
        store<u8>(outBase + o++, <u8>(0x80 | (cp & 0x3f)));
      } else if (cp < 0x10000) {
        store<u8>(outBase + o++, <u8>(0xe0 | (cp >> 12)));
        store<u8>(outBase + o++, <u8>(0x80 | ((cp >> 6) & 0x3f)));
        store<u8>(outBase + o++, <u8>(0x80 | (cp & 0x3f)));
      } else {
        store<u8>(outBase + o++, <u8>(0xf0 | (cp >> 18)));
        store<u8>(outBase + o++, <u8>(0x80 | ((cp >> 12) & 0x3f)));
        store<u8>(outBase + o++, <u8>(0x80 | ((cp >> 6) & 0x3f)));
        store<u8>(outBase + o++, <u8>(0x80 | (cp & 0x3f)));
      }
    }
    return String.UTF8.decodeUnsafe(outBase, o);
  }

  parseNumber(): JsonValue | null {
    let negative = false;
    if (this.byteAt(this.pos) == 0x2d) {
      negative = true;
      this.pos++;
    }
    let mantissa: u64 = 0;
    let digits = 0; // significant digits kept in mantissa (at most 19)
    let exponent: i32 = 0; // decimal exponent adjustment
    let c = this.byteAt(this.pos);
    if (c == 0x30) {
      this.pos++;
      c = this.byteAt(this.pos);
      if (c >= 0x30 && c <= 0x39) return this.fail("leading zero in number");
    } else if (c >= 0x31 && c <= 0x39) {
      while (c >= 0x30 && c <= 0x39) {
        if (digits < 19) {
          mantissa = mantissa * 10 + <u64>(c - 0x30);
          if (mantissa != 0) digits++;
        } else if (exponent < 100000) {
          exponent++; // dropped integer digit
        }
        this.pos++;
        c = this.byteAt(this.pos);
      }
    } else {
      return this.fail("invalid number");
    }
    if (c == 0x2e) {
      this.pos++;
      c = this.byteAt(this.pos);
      if (c < 0x30 || c > 0x39) return this.fail("invalid number");
      while (c >= 0x30 && c <= 0x39) {
        if (digits < 19) {
          mantissa = mantissa * 10 + <u64>(c - 0x30);
          if (mantissa != 0) digits++;
          if (exponent > -100000) exponent--;
        }
        this.pos++;
        c = this.byteAt(this.pos);
      }
    }
    if (c == 0x65 || c == 0x45) {
      this.pos++;
      c = this.byteAt(this.pos);
      let expNegative = false;
      if (c == 0x2b || c == 0x2d) {
        expNegative = c == 0x2d;
        this.pos++;
        c = this.byteAt(this.pos);
      }
      if (c < 0x30 || c > 0x39) return this.fail("invalid number");
      let e: i32 = 0;
      while (c >= 0x30 && c <= 0x39) {
        if (e < 100000) e = e * 10 + (c - 0x30);
        this.pos++;
        c = this.byteAt(this.pos);
      }
      exponent += expNegative ? -e : e;
    }
    let value: f64 = 0;
    if (mantissa != 0) {
      if (exponent > 400) value = Infinity;
      else if (exponent < -400) value = 0;
      else value = scaleByPowerOfTen(<f64>mantissa, exponent);
    }
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    v.num = negative ? -value : value;
    return v;
  }
}
