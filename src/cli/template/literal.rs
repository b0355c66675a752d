//! Go's literals inside actions: numbers (as `parse.newNumber` reads
//! them, without complex numbers), character constants, and quoted and
//! raw strings (`strconv.Unquote`).

/// A numeric constant, in each form it can take (as Go's NumberNode).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
    /// A character constant such as `'a'`.
    pub is_char: bool,
}

/// Reads a character constant such as `'a'` or `'\\n'`.
pub(super) fn parse_char(text: &str) -> Option<Number> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut chars = Vec::new();
    unescape_into(inner, '\'', &mut chars)?;
    let [c] = chars[..] else {
        return None;
    };
    let c = u32::from(c);
    Some(Number {
        text: text.to_string(),
        int: Some(i64::from(c)),
        uint: Some(u64::from(c)),
        float: Some(f64::from(c)),
        is_char: true,
    })
}

/// Parses a number as Go's `parse.newNumber` does (without complex numbers).
pub(super) fn parse_number(text: &str) -> std::result::Result<Number, String> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let (radix, digits) = match body.get(..2) {
        Some("0x" | "0X") => (16, &body[2..]),
        Some("0o" | "0O") => (8, &body[2..]),
        Some("0b" | "0B") => (2, &body[2..]),
        _ if body.len() > 1
            && body.starts_with('0')
            && body.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (8, &body[1..])
        }
        _ => (10, body),
    };
    let magnitude = u64::from_str_radix(digits, radix).ok();
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        is_char: false,
    };
    if let Some(m) = magnitude {
        if neg {
            n.int = 0i64.checked_sub_unsigned(m);
            if m == 0 {
                n.uint = Some(0);
            }
        } else {
            n.uint = Some(m);
            n.int = i64::try_from(m).ok();
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if radix == 10 {
        if let Ok(f) = clean.parse::<f64>() {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {text:?}"));
            }
            n.float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                n.int = Some(f as i64);
            }
            if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 {
                n.uint = Some(f as u64);
            }
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {text:?}"));
    }
    Ok(n)
}

/// Go's `strconv.Unquote` for "double-quoted" and `raw` strings.
pub(super) fn unquote(quoted: &str) -> Option<String> {
    if let Some(raw) = quoted.strip_prefix('`') {
        return raw.strip_suffix('`').map(|s| s.replace('\r', ""));
    }
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::new();
    unescape_into(inner, '"', &mut out)?;
    Some(out.into_iter().collect())
}

/// Decodes Go escapes in `s` (quoted by `quote`) into characters.
fn unescape_into(s: &str, quote: char, out: &mut Vec<char>) -> Option<()> {
    let mut chars = s.chars();
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(c) = chars.next() {
        if c == quote || c == '\n' {
            return None;
        }
        if c != '\\' {
            flush_bytes(&mut bytes, out);
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let simple = match e {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '\'' | '"' if e == quote => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            flush_bytes(&mut bytes, out);
            out.push(c);
            continue;
        }
        let (len, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return None,
        };
        let mut digits: String = if radix == 8 {
            e.to_string()
        } else {
            String::new()
        };
        for _ in 0..len {
            digits.push(chars.next()?);
        }
        let v = u32::from_str_radix(&digits, radix).ok()?;
        if matches!(e, 'x' | '0'..='7') {
            bytes.push(u8::try_from(v).ok()?);
        } else {
            flush_bytes(&mut bytes, out);
            out.push(char::from_u32(v)?);
        }
    }
    flush_bytes(&mut bytes, out);
    Some(())
}

/// Turns escaped bytes (`\x..`, octal) into characters, as UTF-8 where valid.
fn flush_bytes(bytes: &mut Vec<u8>, out: &mut Vec<char>) {
    if !bytes.is_empty() {
        out.extend(String::from_utf8_lossy(bytes).chars());
        bytes.clear();
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_and_strings_as_go_does() {
        let n = parse_number("0x10").unwrap();
        assert_eq!((n.int, n.float), (Some(16), Some(16.0)));
        assert_eq!(parse_number("010").unwrap().int, Some(8));
        assert_eq!(parse_number("1_000").unwrap().int, Some(1000));
        let n = parse_number("1.5").unwrap();
        assert_eq!((n.int, n.float), (None, Some(1.5)));
        assert_eq!(parse_number("2.0").unwrap().int, Some(2));
        assert_eq!(parse_number("-5").unwrap().uint, None);
        assert!(parse_number("99999999999999999999").is_err());
        assert_eq!(unquote(r#""a\tb\x41\u00e9\"""#).unwrap(), "a\tbAé\"");
        assert_eq!(unquote("`a\\n`").unwrap(), "a\\n");
        assert_eq!(unquote(r#""\'""#), None);
    }

    #[test]
    fn reads_character_constants() {
        assert_eq!(parse_char("'a'").unwrap().int, Some(97));
        assert_eq!(parse_char("'\\n'").unwrap().int, Some(10));
        assert!(parse_char("'ab'").is_none());
    }
}
