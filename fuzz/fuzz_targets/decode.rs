//! Input decoding never panics: every value is an article or a classified error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fallback = dateline::article::Fallback {
        id: "t/0/0".into(),
        published_at: chrono::DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").ok(),
    };
    match dateline::article::decode(Some(data), 1 << 20, &fallback) {
        Ok(a) => assert!(!a.text.trim().is_empty()),
        Err(e) => assert!(!e.kind().is_empty()),
    }
});
