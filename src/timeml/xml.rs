//! A small XML tokenizer for TimeML files: tags, text and the five predefined entities.
//!
//! TimeML corpora are plain XML without a DTD, so a full parser buys nothing and would hide the
//! byte offsets we need: every token here carries its byte range in the source, which is what
//! lets `annotate` rewrite a file while keeping everything else byte-identical.
//!
//! Comments, processing instructions and `<!DOCTYPE>` are passed through as opaque markup.
//! CDATA sections are reported as such; the document reader refuses them inside `<TEXT>`.

use std::borrow::Cow;
use std::ops::Range;

/// What went wrong while tokenizing, at a byte offset of the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// A `<` with no closing `>` (or `-->`, `?>`, `]]>`).
    #[error("markup opened at byte {0} is never closed")]
    Unclosed(usize),
    /// A tag whose name or attributes do not follow XML syntax.
    #[error("malformed tag at byte {0}")]
    BadTag(usize),
    /// An `&` that does not start a predefined entity or a character reference.
    #[error("unknown or malformed entity at byte {0}")]
    BadEntity(usize),
}

impl XmlError {
    /// The byte offset, in the source, where the problem starts.
    pub fn offset(&self) -> usize {
        match *self {
            XmlError::Unclosed(at) | XmlError::BadTag(at) | XmlError::BadEntity(at) => at,
        }
    }
}

/// Whether a tag opens, closes or is an empty element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// `<NAME ...>`
    Start,
    /// `</NAME>`
    End,
    /// `<NAME .../>`
    Empty,
}

/// One tag with its attributes (values already entity-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Byte range of the whole tag, `<` to `>` inclusive.
    pub range: Range<usize>,
    /// Start, end or empty element.
    pub kind: TagKind,
    /// Element name, as written.
    pub name: &'a str,
    /// Attributes in source order.
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
}

impl Tag<'_> {
    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// A piece of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// Character data (entities still encoded), never empty.
    Text(Range<usize>),
    /// A start, end or empty-element tag.
    Tag(Tag<'a>),
    /// A CDATA section; the range covers `<![CDATA[` to `]]>`.
    Cdata(Range<usize>),
    /// A comment, processing instruction or declaration, passed through untouched.
    Other(Range<usize>),
}

/// Iterates over the tokens of `src`, in order; stops after the first error.
pub struct Tokens<'a> {
    src: &'a str,
    pos: usize,
    failed: bool,
}

/// Tokenizes `src`.
pub fn tokens(src: &str) -> Tokens<'_> {
    Tokens {
        src,
        pos: 0,
        failed: false,
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Result<Token<'a>, XmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.src.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.src[start..];
        if !rest.starts_with('<') {
            let end = rest.find('<').map_or(self.src.len(), |i| start + i);
            self.pos = end;
            return Some(Ok(Token::Text(start..end)));
        }
        let result = self.markup(start);
        match &result {
            Ok(token) => {
                self.pos = match token {
                    Token::Text(r) | Token::Cdata(r) | Token::Other(r) => r.end,
                    Token::Tag(t) => t.range.end,
                }
            }
            Err(_) => self.failed = true,
        }
        Some(result)
    }
}

impl<'a> Tokens<'a> {
    /// Reads the markup that starts with the `<` at `start`.
    fn markup(&self, start: usize) -> Result<Token<'a>, XmlError> {
        let rest = &self.src[start..];
        let closed_by = |open: &str, close: &str| -> Result<Range<usize>, XmlError> {
            rest[open.len()..]
                .find(close)
                .map(|i| start..start + open.len() + i + close.len())
                .ok_or(XmlError::Unclosed(start))
        };
        if rest.starts_with("<!--") {
            return closed_by("<!--", "-->").map(Token::Other);
        }
        if rest.starts_with("<![CDATA[") {
            return closed_by("<![CDATA[", "]]>").map(Token::Cdata);
        }
        if rest.starts_with("<?") {
            return closed_by("<?", "?>").map(Token::Other);
        }
        if rest.starts_with("<!") {
            // A declaration; an internal subset `[...]` may contain `>`.
            let close = match (rest.find('['), rest.find('>')) {
                (Some(bracket), Some(gt)) if bracket < gt => "]>",
                _ => ">",
            };
            return closed_by("<!", close).map(Token::Other);
        }
        let end = tag_end(rest).ok_or(XmlError::Unclosed(start))? + start;
        parse_tag(self.src, start..end).map(Token::Tag)
    }
}

/// Offset just past the `>` that closes the tag at the start of `s`, skipping quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '_' | ':')
}

/// Parses the tag occupying `range` of `src` (`<` to `>` inclusive).
fn parse_tag(src: &str, range: Range<usize>) -> Result<Tag<'_>, XmlError> {
    let bad = XmlError::BadTag(range.start);
    let inner = src.get(range.start + 1..range.end - 1).ok_or(bad.clone())?;
    let (kind, body) = if let Some(body) = inner.strip_prefix('/') {
        (TagKind::End, body)
    } else if let Some(body) = inner.strip_suffix('/') {
        (TagKind::Empty, body)
    } else {
        (TagKind::Start, inner)
    };
    let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let name = &body[..name_len];
    if !name.chars().next().is_some_and(is_name_start) {
        return Err(bad);
    }
    let mut rest = &body[name_len..];
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err(bad);
    }
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if kind == TagKind::End {
            return Err(bad);
        }
        let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let attr = &rest[..name_len];
        if !attr.chars().next().is_some_and(is_name_start) {
            return Err(bad);
        }
        rest = rest[name_len..].trim_start();
        rest = rest.strip_prefix('=').ok_or(bad.clone())?.trim_start();
        let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''));
        let quote = quote.ok_or(bad.clone())?;
        let value_len = rest[1..].find(quote).ok_or(bad.clone())?;
        let value = &rest[1..1 + value_len];
        // Where the value starts in `src`, for error offsets.
        let value_offset = value.as_ptr() as usize - src.as_ptr() as usize;
        attrs.push((attr, decode(value, value_offset)?));
        rest = &rest[1 + value_len + 1..];
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return Err(bad);
        }
    }
    Ok(Tag {
        range,
        kind,
        name,
        attrs,
    })
}

/// The entity at the start of `s` (which starts with `&`): its source length and its text.
pub fn entity(s: &str) -> Option<(usize, char)> {
    let (end, _) = s.char_indices().take(12).find(|&(_, c)| c == ';')?;
    let name = &s[1..end];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse::<u32>().ok()?
            };
            char::from_u32(code)?
        }
    };
    Some((end + 1, c))
}

/// Decodes the entities of `s`; `offset` is where `s` starts in the source, for errors.
pub fn decode(s: &str, offset: usize) -> Result<Cow<'_, str>, XmlError> {
    if !s.contains('&') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let at = offset + (s.len() - rest.len()) + i;
        let (len, c) = entity(&rest[i..]).ok_or(XmlError::BadEntity(at))?;
        out.push(c);
        rest = &rest[i + len..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Escapes `s` for use inside a double-quoted attribute value or as character data.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(src: &str) -> Vec<Token<'_>> {
        tokens(src).collect::<Result<_, _>>().expect("tokenizes")
    }

    #[test]
    fn tags_text_and_attributes() {
        let src = r#"<?xml version="1.0" ?><A x="1 > 0" y='&amp;'>hi<B/></A>"#;
        let toks = all(src);
        assert_eq!(toks.len(), 5);
        assert!(matches!(toks[0], Token::Other(_)));
        let Token::Tag(a) = &toks[1] else {
            panic!("expected a tag")
        };
        assert_eq!((a.name, a.kind), ("A", TagKind::Start));
        assert_eq!(a.attr("x"), Some("1 > 0"));
        assert_eq!(a.attr("y"), Some("&"));
        let hi = src.find("hi").unwrap();
        assert_eq!(toks[2], Token::Text(hi..hi + 2));
        let Token::Tag(b) = &toks[3] else {
            panic!("expected a tag")
        };
        assert_eq!((b.name, b.kind), ("B", TagKind::Empty));
        let Token::Tag(end) = &toks[4] else {
            panic!("expected a tag")
        };
        assert_eq!((end.name, end.kind), ("A", TagKind::End));
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            decode("AT&amp;T &lt;&#65;&#x42;&gt;", 0).unwrap(),
            "AT&T <AB>"
        );
        assert_eq!(decode("a & b", 10), Err(XmlError::BadEntity(12)));
        assert_eq!(entity("&#8212;x"), Some((7, '\u{2014}')));
    }

    #[test]
    fn escape_round_trips() {
        let s = r#"a<b>&"c""#;
        assert_eq!(decode(&escape(s), 0).unwrap(), s);
    }

    #[test]
    fn malformed_markup_is_an_error() {
        assert_eq!(
            tokens("x <A").collect::<Vec<_>>(),
            vec![Ok(Token::Text(0..2)), Err(XmlError::Unclosed(2))]
        );
        assert!(tokens("<1a>").any(|t| t.is_err()));
        assert!(tokens("</A x=\"1\">").any(|t| t.is_err()));
        assert!(tokens("<A x=1>").any(|t| t.is_err()));
    }
}
