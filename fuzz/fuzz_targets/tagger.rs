//! No panic on any UTF-8 input; every span on char boundaries, ordered, non-overlapping; every
//! record's interval well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(reference) = chrono::DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00") else {
        return;
    };
    let mut last = 0;
    for t in dateline::tagger::tag(text, reference) {
        assert!(text.is_char_boundary(t.span.start) && text.is_char_boundary(t.span.end));
        assert!(t.span.start >= last && t.span.start < t.span.end);
        last = t.span.end;
    }
    let article = dateline::article::Article {
        id: "fuzz".into(),
        published_at: reference,
        text: text.to_string(),
        title: None,
        source: None,
        url: None,
        lang: None,
    };
    for r in dateline::timeline::extract(&article) {
        assert!(r.date.start <= r.date.end);
    }
});
