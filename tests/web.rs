//! `/timelines` over HTTP ([`dateline::web`]): JSON listing, entries in order, `from`/`to`,
//! errors, keys with `:` and percent-encoding, content negotiation, HTML escaping, and a real
//! rendering of the page by headless Chromium whose screenshot is checked pixel by pixel.
//!
//! The router is served on 127.0.0.1:0 by tokio over an in-memory [`TimelineView`]. Chromium
//! (`chromium`, `chromium-browser`, `google-chrome` or `$DATELINE_CHROMIUM`) is installed by
//! `scripts/install-deps.sh`; without it the screenshot test prints a note and skips. The
//! screenshot is kept in `target/web/timeline.png` for a human to look at.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use dateline::events::Modality;
use dateline::tagger::{Granularity, Mod, TimexType};
use dateline::timeline::{
    DateInfo, EventInfo, Position, SourceRef, TimelineEntry, TimelineSummary, TimelineView,
};
use dateline::web;

// ---------------------------------------------------------------------------------------------
// An in-memory view

/// Timelines held in memory, filtered like the store: an entry is kept when its interval meets
/// `[from, to]`.
struct Memory(BTreeMap<String, Vec<TimelineEntry>>);

impl TimelineView for Memory {
    fn timelines(&self) -> Vec<TimelineSummary> {
        self.0
            .iter()
            .map(|(key, entries)| TimelineSummary {
                key: key.clone(),
                entries: entries.len(),
                version: entries
                    .iter()
                    .map(|e| e.timeline_version)
                    .max()
                    .unwrap_or(0),
                first: entries.iter().map(|e| e.date.start).min(),
                last: entries.iter().map(|e| e.date.end).max(),
            })
            .collect()
    }

    fn entries(
        &self,
        key: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Option<Vec<TimelineEntry>> {
        let entries = self.0.get(key)?;
        Some(
            entries
                .iter()
                .filter(|e| from.is_none_or(|f| e.date.end >= f))
                .filter(|e| to.is_none_or(|t| e.date.start <= t))
                .cloned()
                .collect(),
        )
    }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// One report: outlet, URL, article id, date as written, trigger.
fn report(outlet: &str, url: Option<&str>, article: &str, date_text: &str) -> SourceRef {
    SourceRef {
        article_id: article.into(),
        published_at: DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").unwrap(),
        source: Some(outlet.into()),
        url: url.map(str::to_string),
        event_id: format!("ev-{:016x}", article.len() * 7919 + date_text.len()),
        date_text: date_text.into(),
        trigger: "x".into(),
    }
}

/// What an entry of the fixture says.
struct Spec<'a> {
    value: &'a str,
    modifier: Option<Mod>,
    granularity: Granularity,
    start: &'a str,
    end: &'a str,
    text: &'a str,
    trigger: &'a str,
    phrase: &'a str,
    participants: &'a [&'a str],
    location: Option<&'a str>,
    modality: Modality,
    sentence: &'a str,
    sources: Vec<SourceRef>,
}

fn entry(timeline: &str, n: u64, s: Spec) -> TimelineEntry {
    TimelineEntry {
        schema_version: dateline::timeline::ENTRY_SCHEMA_VERSION,
        timeline: timeline.into(),
        entry_id: format!("te-{n:016x}"),
        version: s.sources.len() as u64,
        timeline_version: n + 1,
        position: Position {
            before: None,
            after: None,
        },
        date: DateInfo {
            value: s.value.into(),
            modifier: s.modifier,
            kind: if s.granularity == Granularity::Time {
                TimexType::Time
            } else {
                TimexType::Date
            },
            start: day(s.start),
            end: day(s.end),
            granularity: s.granularity,
            text: s.text.into(),
            span: [0, s.text.len()],
            range: None,
        },
        event: EventInfo {
            trigger: s.trigger.into(),
            phrase: s.phrase.into(),
            participants: s.participants.iter().map(|p| p.to_string()).collect(),
            location: s.location.map(str::to_string),
            modality: s.modality,
            sentence: s.sentence.into(),
        },
        sources: s.sources,
        late: false,
    }
}

const YONHAP: Option<&str> = Some("https://en.yna.co.kr/view/AEN20191217000251325");
const SCRIPT_PHRASE: &str = "rejected a reported proposal <script>alert(\"x\")</script>";

/// `north-korea`: a month, three days, a week, and "the end of 2019" (mod END), in the store's
/// order `(end, start)`; several sources, one with a `javascript:` URL and markup in its name;
/// `<script>` in a phrase. `topic:articles`: a time of day and a year. Keys with `/` and
/// non-ASCII characters.
fn fixture() -> Memory {
    let nk = "north-korea";
    let rocket =
        "two presumed rocket engine tests at the North's Sohae satellite launching facility";
    let mut map = BTreeMap::new();
    map.insert(
        nk.to_string(),
        vec![
            entry(
                nk,
                0,
                Spec {
                    value: "2018-06",
                    modifier: None,
                    granularity: Granularity::Month,
                    start: "2018-06-01",
                    end: "2018-06-30",
                    text: "June 2018",
                    trigger: "summit",
                    phrase: "their first summit in Singapore",
                    participants: &["Donald Trump", "Kim Jong Un"],
                    location: Some("Singapore"),
                    modality: Modality::Asserted,
                    sentence: "Trump and Kim held their first summit in Singapore in June 2018.",
                    sources: vec![
                        report("Yonhap", YONHAP, "yonhap-1", "June 2018"),
                        report("KCNA Watch", None, "kcna-1", "June 2018"),
                    ],
                },
            ),
            entry(
                nk,
                1,
                Spec {
                    value: "2019-12-07",
                    modifier: None,
                    granularity: Granularity::Day,
                    start: "2019-12-07",
                    end: "2019-12-07",
                    text: "Dec. 7",
                    trigger: "tests",
                    phrase: rocket,
                    participants: &["North Korea"],
                    location: Some("Sohae"),
                    modality: Modality::Reported,
                    sentence: "The North carried out two presumed rocket engine tests on Dec. 7 and 13.",
                    sources: vec![
                        report("Yonhap", YONHAP, "yonhap-1", "Dec. 7"),
                        report(
                            "Reuters",
                            Some("https://www.reuters.com/article/nk?a=1&b=2"),
                            "reuters-1",
                            "Dec. 7",
                        ),
                        report(
                            "Asia <Desk> \"&\"",
                            Some("javascript:alert(1)"),
                            "asia-1",
                            "Saturday",
                        ),
                    ],
                },
            ),
            entry(
                nk,
                2,
                Spec {
                    value: "2019-12-13",
                    modifier: None,
                    granularity: Granularity::Day,
                    start: "2019-12-13",
                    end: "2019-12-13",
                    text: "13",
                    trigger: "tests",
                    phrase: rocket,
                    participants: &["North Korea"],
                    location: Some("Sohae"),
                    modality: Modality::Reported,
                    sentence: "The North carried out two presumed rocket engine tests on Dec. 7 and 13.",
                    sources: vec![report("Yonhap", YONHAP, "yonhap-1", "13")],
                },
            ),
            entry(
                nk,
                3,
                Spec {
                    value: "2019-12-16",
                    modifier: None,
                    granularity: Granularity::Day,
                    start: "2019-12-16",
                    end: "2019-12-16",
                    text: "Monday",
                    trigger: "rejected",
                    phrase: SCRIPT_PHRASE,
                    participants: &["United States", "China", "Russia"],
                    location: None,
                    modality: Modality::Asserted,
                    sentence: "The US on Monday rejected it. <img src=x onerror=alert(1)>",
                    sources: vec![
                        report("Yonhap", YONHAP, "yonhap-1", "Monday"),
                        report("AP", Some("https://apnews.com/x\"onmouseover=\"alert(1)"), "ap-1", "Dec. 16"),
                    ],
                },
            ),
            entry(
                nk,
                4,
                Spec {
                    value: "2019-W51",
                    modifier: None,
                    granularity: Granularity::Week,
                    start: "2019-12-16",
                    end: "2019-12-22",
                    text: "this week",
                    trigger: "talks",
                    phrase: "working-level talks in Stockholm",
                    participants: &["Stephen Biegun"],
                    location: Some("Stockholm"),
                    modality: Modality::Planned,
                    sentence: "Biegun is expected to hold talks this week.",
                    sources: vec![report("Reuters", None, "reuters-2", "this week")],
                },
            ),
            entry(
                nk,
                5,
                Spec {
                    value: "2019",
                    modifier: Some(Mod::End),
                    granularity: Granularity::Year,
                    start: "2019-09-01",
                    end: "2019-12-31",
                    text: "the end of the year",
                    trigger: "take",
                    phrase: "to take a \"new way\"",
                    participants: &["North Korea", "Kim Jong Un"],
                    location: None,
                    modality: Modality::Threatened,
                    sentence: "Pyongyang threatened to take a \"new way\" by the end of the year.",
                    sources: vec![
                        report("Yonhap", YONHAP, "yonhap-1", "the end of the year"),
                        report("KCNA Watch", None, "kcna-1", "year-end"),
                    ],
                },
            ),
        ],
    );
    let topic = "topic:articles";
    map.insert(
        topic.to_string(),
        vec![
            entry(
                topic,
                0,
                Spec {
                    value: "2019-12-16T10:32-04:00",
                    modifier: None,
                    granularity: Granularity::Time,
                    start: "2019-12-16",
                    end: "2019-12-16",
                    text: "10:32 a.m. EDT on Monday",
                    trigger: "said",
                    phrase: "said in a statement",
                    participants: &["State Department"],
                    location: Some("Washington"),
                    modality: Modality::Reported,
                    sentence: "The State Department said at 10:32 a.m. EDT on Monday.",
                    sources: vec![report("AP", None, "ap-1", "10:32 a.m. EDT on Monday")],
                },
            ),
            entry(
                topic,
                1,
                Spec {
                    value: "2020",
                    modifier: None,
                    granularity: Granularity::Year,
                    start: "2020-01-01",
                    end: "2020-12-31",
                    text: "next year",
                    trigger: "election",
                    phrase: "the election",
                    participants: &[],
                    location: None,
                    modality: Modality::Planned,
                    sentence: "The election is next year.",
                    sources: vec![report("AP", None, "ap-1", "next year")],
                },
            ),
        ],
    );
    for key in ["são-paulo", "a/b"] {
        let one = entry(
            key,
            0,
            Spec {
                value: "2019-12-01",
                modifier: None,
                granularity: Granularity::Day,
                start: "2019-12-01",
                end: "2019-12-01",
                text: "Dec. 1",
                trigger: "met",
                phrase: "met",
                participants: &[],
                location: None,
                modality: Modality::Asserted,
                sentence: "They met on Dec. 1.",
                sources: vec![report("AP", None, "ap-2", "Dec. 1")],
            },
        );
        map.insert(key.to_string(), vec![one]);
    }
    Memory(map)
}

// ---------------------------------------------------------------------------------------------
// Serving and fetching

/// Serves `web::routes` over the fixture on 127.0.0.1:0 (a thread with its own runtime, for the
/// life of the test binary); returns the port.
fn serve() -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let view: Arc<dyn TimelineView> = Arc::new(fixture());
            axum::serve(listener, web::routes(view)).await.unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

/// A response: status, headers (names lowercased) and body.
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        assert!(
            self.headers["content-type"].starts_with("application/json"),
            "{:?}",
            self.headers
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// `GET path` with `accept` (none when empty), over HTTP/1.0.
fn get(port: u16, path: &str, accept: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let accept = if accept.is_empty() {
        String::new()
    } else {
        format!("Accept: {accept}\r\n")
    };
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{accept}\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status: status.parse().unwrap(),
        headers,
        body: body.to_string(),
    }
}

const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

fn values(reply: &Reply) -> Vec<String> {
    let v = reply.json();
    v["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {v}"))
        .iter()
        .map(|e| e["date"]["value"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// JSON

#[test]
fn lists_timelines_as_json() {
    let port = serve();
    let reply = get(port, "/timelines", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list: Vec<TimelineSummary> = serde_json::from_value(reply.json()).unwrap();
    let keys: Vec<&str> = list.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["a/b", "north-korea", "são-paulo", "topic:articles"]);
    let nk = &list[1];
    assert_eq!(nk.entries, 6);
    assert_eq!(nk.first, Some(day("2018-06-01")));
    assert_eq!(nk.last, Some(day("2019-12-31")));
    assert_eq!(
        reply.headers.get("vary").map(String::as_str),
        Some("accept")
    );
}

#[test]
fn serves_entries_in_order_as_json() {
    let port = serve();
    let reply = get(port, "/timelines/north-korea", "application/json");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["timeline"], "north-korea");
    let entries: Vec<TimelineEntry> = serde_json::from_value(v["entries"].clone()).unwrap();
    assert_eq!(
        entries,
        fixture().0["north-korea"],
        "exactly the view's entries, in order"
    );
    assert_eq!(
        values(&reply),
        [
            "2018-06",
            "2019-12-07",
            "2019-12-13",
            "2019-12-16",
            "2019-W51",
            "2019"
        ]
    );
    // The JSON keeps the text as data, unescaped.
    assert_eq!(entries[3].event.phrase, SCRIPT_PHRASE);
}

#[test]
fn keys_with_colons_and_percent_encoding_route() {
    let port = serve();
    for path in [
        "/timelines/topic:articles",
        "/timelines/topic%3Aarticles",
        "/timelines/topic%3aarticles",
    ] {
        let reply = get(port, path, "");
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.json()["timeline"], "topic:articles", "{path}");
        assert_eq!(values(&reply), ["2019-12-16T10:32-04:00", "2020"], "{path}");
    }
    let reply = get(port, "/timelines/s%C3%A3o-paulo", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["timeline"], "são-paulo");
    let reply = get(port, "/timelines/a%2Fb", "");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["timeline"], "a/b");
    // An unencoded slash is another path.
    assert_eq!(get(port, "/timelines/a/b", "").status, 404);
}

#[test]
fn from_and_to_keep_the_entries_whose_interval_meets_the_range() {
    let port = serve();
    let nk = |q: &str| values(&get(port, &format!("/timelines/north-korea{q}"), ""));
    // "The end of 2019" (Sep 1 – Dec 31) meets both halves of December.
    assert_eq!(
        nk("?from=2019-12-10"),
        ["2019-12-13", "2019-12-16", "2019-W51", "2019"]
    );
    assert_eq!(nk("?to=2019-12-10"), ["2018-06", "2019-12-07", "2019"]);
    assert_eq!(nk("?from=2019-12-13&to=2019-12-13"), ["2019-12-13", "2019"]);
    assert_eq!(nk("?from=2018-06-30&to=2018-06-30"), ["2018-06"]);
    assert_eq!(nk("?from=2020-01-01"), Vec::<String>::new());
    // Empty values are absent.
    assert_eq!(nk("?from=&to=").len(), 6);
}

#[test]
fn bad_dates_are_400_with_a_json_error() {
    let port = serve();
    for (query, names) in [
        ("?from=2019-13-01", "from"),
        ("?to=yesterday", "to"),
        ("?from=2019-2-1", "from"),
        ("?from=2019-02-30", "from"),
        ("?from=%3Cscript%3E", "from"),
        ("?from=2019-12-20&to=2019-12-10", "after"),
        ("?format=xml", "format"),
    ] {
        let reply = get(port, &format!("/timelines/north-korea{query}"), "");
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        let v = reply.json();
        assert_eq!(v["error"], "bad_request", "{v}");
        assert_eq!(v["status"], 400, "{v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(names), "{query}: {message}");
    }
    let reply = get(port, "/timelines/north-korea?from=2019-13-01", "");
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("YYYY-MM-DD")
    );
    // A browser gets the error as a page, escaped.
    let reply = get(port, "/timelines/north-korea?from=%3Cscript%3E", BROWSER);
    assert_eq!(reply.status, 400);
    assert!(reply.headers["content-type"].starts_with("text/html"));
    assert!(!reply.body.contains("<script>"), "{}", reply.body);
    assert!(reply.body.contains("&lt;script&gt;"), "{}", reply.body);
}

#[test]
fn unknown_timeline_is_404() {
    let port = serve();
    let reply = get(port, "/timelines/no-such-key", "");
    assert_eq!(reply.status, 404, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["error"], "not_found");
    assert!(
        v["message"].as_str().unwrap().contains("no-such-key"),
        "{v}"
    );
    let reply = get(port, "/timelines/no-such-key", BROWSER);
    assert_eq!(reply.status, 404);
    assert!(reply.headers["content-type"].starts_with("text/html"));
}

#[test]
fn accept_header_chooses_html_and_json_stays_the_default() {
    let port = serve();
    let html = |accept: &str, query: &str| {
        let reply = get(port, &format!("/timelines/north-korea{query}"), accept);
        assert_eq!(reply.status, 200, "{accept}: {}", reply.body);
        reply.headers["content-type"].starts_with("text/html")
    };
    assert!(html(BROWSER, ""));
    assert!(html("text/html", ""));
    assert!(html("application/xhtml+xml", ""));
    assert!(html("application/json;q=0.5, text/html", ""));
    assert!(!html("", ""));
    assert!(!html("*/*", ""));
    assert!(!html("application/json", ""));
    assert!(!html("text/html;q=0.5, application/json", ""));
    assert!(!html("text/html;q=0", ""));
    assert!(!html("text/*;q=0.2, */*", ""));
    // ?format overrides the header.
    assert!(html("application/json", "?format=html"));
    assert!(!html(BROWSER, "?format=json"));
    // The listing and the root negotiate too.
    let index = get(port, "/timelines", BROWSER);
    assert!(index.headers["content-type"].starts_with("text/html"));
    assert!(
        index.body.contains("href=\"/timelines/topic:articles\""),
        "{}",
        index.body
    );
    assert!(
        index.body.contains("href=\"/timelines/s%C3%A3o-paulo\""),
        "{}",
        index.body
    );
    assert!(
        index.body.contains("href=\"/timelines/a%2Fb\""),
        "{}",
        index.body
    );
    let root = get(port, "/", BROWSER);
    assert_eq!(root.status, 303);
    assert_eq!(root.headers["location"], "/timelines");
    assert!(get(port, "/", "").body.contains("/timelines"));
}

// ---------------------------------------------------------------------------------------------
// HTML

/// The tag names a page may contain: anything else came from article text.
const TAGS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "nav",
    "header",
    "h1",
    "h2",
    "h3",
    "p",
    "a",
    "div",
    "span",
    "strong",
    "form",
    "label",
    "input",
    "button",
    "svg",
    "circle",
    "rect",
    "text",
    "tspan",
    "ol",
    "ul",
    "li",
    "time",
    "code",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];

/// Every tag name in `html`.
fn tag_names(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let name: String = rest
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect();
        out.push(name.to_ascii_lowercase());
    }
    out
}

#[test]
fn html_page_shows_every_entry_and_escapes_article_text() {
    let port = serve();
    let reply = get(port, "/timelines/north-korea", BROWSER);
    assert_eq!(reply.status, 200);
    assert!(reply.headers["content-type"].starts_with("text/html"));
    let html = reply.body;
    assert_eq!(
        html,
        web::render_html("north-korea", &fixture().0["north-korea"])
    );

    // No markup from the articles: only the page's own tags, no script at all, no handler.
    for name in tag_names(&html) {
        assert!(TAGS.contains(&name.as_str()), "unexpected tag <{name}>");
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"));
    assert!(!lower.contains("<img"));
    assert!(
        !lower.contains("javascript:"),
        "a javascript: URL is never linked"
    );
    assert!(
        !lower.contains("\"onmouseover"),
        "quotes in a URL cannot end the attribute"
    );
    assert!(html.contains(
        "rejected a reported proposal &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    ));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("Asia &lt;Desk&gt; &quot;&amp;&quot;"));
    assert!(html.contains("href=\"https://www.reuters.com/article/nk?a=1&amp;b=2\""));
    assert!(html.contains("to take a &quot;new way&quot;"));

    // Self-contained: nothing is fetched.
    assert!(!lower.contains("src=\""), "no external resource");
    assert!(!lower.contains("url("), "no external resource in the CSS");
    assert!(!lower.contains("@import"), "no external stylesheet");
    assert!(!lower.contains("<link"), "no stylesheet link");

    // Every entry has its card, in order, with what it says.
    let cards: Vec<usize> = (1..=6)
        .map(|n| {
            html.find(&format!("id=\"e{n}\""))
                .unwrap_or_else(|| panic!("card {n}"))
        })
        .collect();
    assert!(cards.windows(2).all(|w| w[0] < w[1]), "cards in date order");
    let card = |n: usize| &html[cards[n - 1]..cards.get(n).copied().unwrap_or(html.len())];
    let first = card(1);
    for expected in [
        "2018-06",
        "June 2018",
        "their first summit in Singapore",
        "summit",
        "asserted",
        "Donald Trump, Kim Jong Un",
        "Singapore",
        "2 reports",
        "href=\"https://en.yna.co.kr/view/AEN20191217000251325\"",
        "KCNA Watch",
    ] {
        assert!(first.contains(expected), "{expected} in {first}");
    }
    assert!(card(2).contains("3 reports") && card(2).contains("reported"));
    assert!(card(2).contains("Sohae"));
    let end = card(6);
    assert!(
        end.contains("2019 END") && end.contains("threatened"),
        "{end}"
    );
    assert!(end.contains("1 Sep – 31 Dec 2019"), "{end}");
    assert!(card(5).contains("planned") && card(5).contains("Stockholm"));

    // One marker per entry on the axis, each coloured by its kind, plus one legend swatch each.
    let fill = |c: &str| html.matches(&format!("fill=\"{c}\"")).count();
    assert_eq!(fill(web::DAY_FILL), 3 + 1);
    assert_eq!(fill(web::PERIOD_FILL), 2 + 1);
    assert_eq!(fill(web::FUZZY_FILL), 1 + 1);
    // Month ticks (every other month) for a year and a half.
    for tick in [">Jul<", ">Jan<", ">2019<", ">2020<"] {
        assert!(html.contains(tick), "tick {tick}");
    }
}

#[test]
fn render_html_handles_empty_and_long_timelines() {
    let empty = web::render_html("<x>", &[]);
    assert!(empty.contains("No entries"));
    assert!(empty.contains("&lt;x&gt;") && !empty.contains("<x>"));
    // Decades: year ticks.
    let mut entries = fixture().0["topic:articles"].clone();
    entries[0].date.start = day("1990-01-01");
    entries[0].date.end = day("1999-12-31");
    entries[0].date.value = "199".into();
    let html = web::render_html("decades", &entries);
    assert!(html.contains(">1990<") && html.contains(">2000<"), "{html}");
    assert!(!html.contains(">Jun<"));
    // A few days: day ticks.
    let html = web::render_html("days", &fixture().0["são-paulo"]);
    assert!(html.contains("Dec 2019"), "{html}");
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

/// The Chromium binary: `$DATELINE_CHROMIUM` or the first of the usual names on `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DATELINE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// Screenshots `url` at 1200x900 into `out`.
fn screenshot(browser: &Path, url: &str, out: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_file(out);
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", out.display()))
        .arg("--window-size=1200,900")
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", browser.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish in 120 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(
        status.success() && out.is_file(),
        "{} failed ({status}):\n{stderr}",
        browser.display()
    );
}

/// An RGB image.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let mut decoder = png::Decoder::new(file);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks_exact(channels)
            .map(|p| match channels {
                1 | 2 => [p[0]; 3],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Image {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }
}

fn hex(colour: &str) -> [u8; 3] {
    let c = colour.trim_start_matches('#');
    let channel = |i: usize| u8::from_str_radix(&c[i..i + 2], 16).unwrap();
    [channel(0), channel(2), channel(4)]
}

fn near(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tolerance)
}

/// A connected blob of one colour: its bounding box, size and centre.
#[derive(Debug)]
struct Blob {
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    pixels: usize,
    cx: f64,
}

/// The 4-connected blobs of pixels within `tolerance` of `colour`, with at least `min` pixels.
fn blobs(img: &Image, colour: [u8; 3], tolerance: u8, min: usize) -> Vec<Blob> {
    let mut seen = vec![false; img.width * img.height];
    let mut out = Vec::new();
    for start in 0..seen.len() {
        if seen[start] || !near(img.rgb[start], colour, tolerance) {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut blob = Blob {
            x0: usize::MAX,
            x1: 0,
            y0: usize::MAX,
            y1: 0,
            pixels: 0,
            cx: 0.0,
        };
        let mut sum_x = 0usize;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % img.width, i / img.width);
            blob.x0 = blob.x0.min(x);
            blob.x1 = blob.x1.max(x);
            blob.y0 = blob.y0.min(y);
            blob.y1 = blob.y1.max(y);
            blob.pixels += 1;
            sum_x += x;
            let mut push = |j: usize| {
                if !seen[j] && near(img.rgb[j], colour, tolerance) {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                push(i - 1);
            }
            if x + 1 < img.width {
                push(i + 1);
            }
            if y > 0 {
                push(i - img.width);
            }
            if y + 1 < img.height {
                push(i + img.width);
            }
        }
        blob.cx = sum_x as f64 / blob.pixels as f64 + 0.5;
        if blob.pixels >= min {
            out.push(blob);
        }
    }
    out
}

/// The value of `name="..."` on the page's chart.
fn svg_attr<'a>(html: &'a str, name: &str) -> &'a str {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let len = html[start..].find('"').unwrap();
    &html[start..start + len]
}

#[test]
fn headless_chromium_draws_the_axis_and_one_marker_per_entry() {
    let Some(browser) = chromium() else {
        eprintln!(
            "NOTE: chromium is not installed (scripts/install-deps.sh); screenshot check skipped"
        );
        return;
    };
    let port = serve();
    let url = format!("http://127.0.0.1:{port}/timelines/north-korea");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("web");
    std::fs::create_dir_all(&target).unwrap();
    let out = target.join("timeline.png");
    screenshot(&browser, &url, &out);
    eprintln!("screenshot: {}", out.display());
    let img = Image::read(&out);
    assert_eq!((img.width, img.height), (1200, 900));

    // Not blank: many colours, and much of the page is not background.
    let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
    for p in &img.rgb {
        *counts.entry(*p).or_default() += 1;
    }
    let (background, bg_pixels) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let total = img.rgb.len();
    assert!(counts.len() >= 200, "{} distinct colours", counts.len());
    assert!(
        (total - bg_pixels) * 100 / total >= 20,
        "{} of {total} pixels are background {background:?}",
        bg_pixels
    );

    // The axis: the longest horizontal run of the axis colour spans the plot.
    let axis = hex(web::AXIS_FILL);
    let (mut ax, mut ay) = ((0, 0), 0);
    for y in 0..img.height {
        let mut x = 0;
        while x < img.width {
            if near(img.at(x, y), axis, 4) {
                let x0 = x;
                while x < img.width && near(img.at(x, y), axis, 4) {
                    x += 1;
                }
                if x - x0 > ax.1 - ax.0 {
                    (ax, ay) = ((x0, x), y);
                }
            }
            x += 1;
        }
    }
    let axis_px = (ax.1 - ax.0) as f64;
    assert!(axis_px >= 900.0, "axis run {ax:?} at y={ay}");

    // Where the page says dates are: the domain of the chart.
    let html = get(port, "/timelines/north-korea", BROWSER).body;
    let lo = day(svg_attr(&html, "data-domain-start"));
    let days: f64 = svg_attr(&html, "data-domain-days").parse().unwrap();
    let plot = svg_attr(&html, "data-plot-x1").parse::<f64>().unwrap()
        - svg_attr(&html, "data-plot-x0").parse::<f64>().unwrap();
    assert!(
        (axis_px - plot).abs() <= 2.0,
        "drawn 1:1: {axis_px} vs {plot}"
    );
    let px = |d: NaiveDate| ax.0 as f64 + (d - lo).num_days() as f64 / days * axis_px;

    // Markers: one blob per entry in its kind's colour (plus the legend swatch above the chart),
    // above the axis, where its date is.
    let entries = &fixture().0["north-korea"];
    let kinds = [
        (web::DAY_FILL, "day"),
        (web::PERIOD_FILL, "period"),
        (web::FUZZY_FILL, "fuzzy"),
    ];
    let mut drawn = 0;
    for (colour, kind) in kinds {
        let expected: Vec<&TimelineEntry> = entries
            .iter()
            .filter(|e| {
                let k = if e.date.start == e.date.end {
                    "day"
                } else if e.date.modifier.is_some() {
                    "fuzzy"
                } else {
                    "period"
                };
                k == kind
            })
            .collect();
        let mut found = blobs(&img, hex(colour), 4, 20);
        found.sort_by_key(|b| b.y0);
        assert_eq!(
            found.len(),
            expected.len() + 1,
            "{kind} markers ({colour}) plus the legend: {found:?}"
        );
        let legend = found.remove(0);
        assert!(legend.y1 < found.iter().map(|b| b.y0).min().unwrap_or(usize::MAX));
        let mut unmatched = expected.clone();
        for blob in &found {
            assert!(blob.y1 < ay, "{kind} marker above the axis: {blob:?}");
            assert!(ay - blob.y1 < 40 * 22, "{blob:?}");
            assert!(
                blob.x0 + 1 >= ax.0 && blob.x1 <= ax.1 + 1,
                "{blob:?} within {ax:?}"
            );
            let at = unmatched.iter().position(|e| {
                let start = px(e.date.start);
                let end = px(e.date.end + chrono::Days::new(1));
                if kind == "day" {
                    ((start + end) / 2.0 - blob.cx).abs() <= 2.0
                        && (blob.x1 - blob.x0) >= 8
                        && (blob.y1 - blob.y0) >= 8
                } else {
                    (start - blob.x0 as f64).abs() <= 2.0
                        && (end - blob.x1 as f64 - 1.0).abs() <= 2.0
                }
            });
            let at = at.unwrap_or_else(|| {
                panic!("{kind} marker {blob:?} is at no {kind} entry's date (domain {lo} + {days} days over {ax:?})")
            });
            unmatched.remove(at);
            drawn += 1;
        }
    }
    assert_eq!(drawn, entries.len());
}
