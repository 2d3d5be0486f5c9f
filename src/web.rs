//! Seeing a timeline: `/timelines` over HTTP, as JSON for programs and as a page for people.
//!
//! - `GET /timelines`: the timelines this instance holds, a JSON array of
//!   [`TimelineSummary`] sorted by key (`[{"key", "entries", "version", "first", "last"}]`).
//! - `GET /timelines/{key}?from=YYYY-MM-DD&to=YYYY-MM-DD`: one timeline's entries in date order,
//!   as `{"timeline": key, "entries": [TimelineEntry, ...]}` (each entry exactly as published on
//!   the timeline topic, `docs/schemas/timeline-entry.schema.json`). `from` and `to` are optional
//!   and inclusive: an entry is kept when its interval `[date.start, date.end]` meets
//!   `[from, to]`, so "the end of 2019" (Sep 1 – Dec 31) is in `from=2019-12-10`. An empty value
//!   counts as absent.
//! - `GET /`: one line of text naming the routes; a browser is sent (303) to `/timelines`.
//! - With HTML negotiated, `/timelines` is an index page linking every timeline.
//!
//! **Keys.** `{key}` is one percent-decoded path segment: `topic:articles` and
//! `topic%3Aarticles` are the same timeline; a key holding `/` must send it as `%2F`.
//!
//! **Content negotiation.** JSON is the default. A request whose `Accept` header ranks
//! `text/html` (or `application/xhtml+xml`) above `application/json` gets HTML instead: a
//! browser's `text/html,...,*/*;q=0.8` does, `*/*`, `application/json` or no header do not.
//! `?format=json` or `?format=html` overrides the header (for links and curl). Responses carry
//! `Vary: Accept`.
//!
//! **Errors** are JSON (HTML for a browser): `{"error": "bad_request" | "not_found", "message":
//! "...", "status": 400 | 404}`; 400 for a date that is not `YYYY-MM-DD`, `from` after `to`, an
//! unknown `format` or a malformed query string, 404 for a timeline this instance does not hold.
//!
//! **The page** ([`render_html`]) is one self-contained document: inline CSS and inline SVG, no
//! script, no external asset, so it renders offline and can be saved. A horizontal time axis
//! with ticks chosen from the range (days, months or years) carries one marker per entry, in
//! lanes so that none overlap: a dot for an entry dated to one day ([`DAY_FILL`]), a bar from
//! `date.start` to `date.end` for a longer interval such as a month or a year ([`PERIOD_FILL`]),
//! and a bar in [`FUZZY_FILL`] when the date has a `mod` ("the end of 2019": mod END, the last
//! third of the year). Each marker is numbered and links to its card, which gives the date (as
//! resolved and as written), the phrase, trigger, modality, participants, location, the sentence
//! and every report (outlet, linked when the article URL is `http(s)`, and the number of
//! reports). Every piece of text is HTML-escaped; the page never contains article text as markup.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::events::Modality;
use crate::timeline::{TimelineEntry, TimelineSummary, TimelineView};

/// Fill of the dot of an entry dated to a single day (or a time of day). The screenshot test
/// finds markers by these colours, so nothing else on the page uses them (except the legend).
pub const DAY_FILL: &str = "#d1495b";
/// Fill of the bar of an entry dated to a longer interval (a week, a month, a year).
pub const PERIOD_FILL: &str = "#00798c";
/// Fill of the bar of an entry whose date has a `mod` (START, MID, END, APPROX, ...).
pub const FUZZY_FILL: &str = "#edae49";
/// Colour of the time axis line and its ticks.
pub const AXIS_FILL: &str = "#30343f";

/// The state of the routes.
type View = Arc<dyn TimelineView>;

/// The `/`, `/timelines` and `/timelines/{key}` routes, with their state applied (merge them
/// into another router).
pub fn routes(view: Arc<dyn TimelineView>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/timelines", get(list))
        .route("/timelines/{key}", get(one))
        .with_state(view)
}

/// The JSON body of `GET /timelines/{key}`.
#[derive(Debug, Serialize)]
struct TimelineBody<'a> {
    /// The key, as decoded from the path.
    timeline: &'a str,
    /// The entries in date order.
    entries: Vec<TimelineEntry>,
}

/// The query string of the timeline routes.
#[derive(Debug, Default, Deserialize)]
struct Params {
    /// First day of interest (`YYYY-MM-DD`), inclusive.
    from: Option<String>,
    /// Last day of interest (`YYYY-MM-DD`), inclusive.
    to: Option<String>,
    /// `json` or `html`: overrides the `Accept` header.
    format: Option<String>,
}

/// What a response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
}

/// An error response, in the format the client asked for.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    format: Format,
}

impl ApiError {
    fn bad_request(message: impl Into<String>, format: Format) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            format,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = match self.status {
            StatusCode::NOT_FOUND => "not_found",
            _ => "bad_request",
        };
        let response = match self.format {
            Format::Json => (
                self.status,
                Json(serde_json::json!({
                    "error": code,
                    "message": self.message,
                    "status": self.status.as_u16(),
                })),
            )
                .into_response(),
            Format::Html => {
                let title = format!("{} {}", self.status.as_u16(), code.replace('_', " "));
                let body = format!("<p class=\"error\">{}</p>\n", esc(&self.message));
                (self.status, Html(page(&title, &esc(&title), &body))).into_response()
            }
        };
        vary(response)
    }
}

/// Adds `Vary: Accept`: the same URL answers JSON or HTML.
fn vary(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

async fn root(headers: HeaderMap) -> Response {
    if accepts_html(&headers) {
        // 303 See Other: a browser landing on `/` goes to the index.
        let body = page(
            "dateline",
            "dateline",
            "<p><a href=\"/timelines\">Timelines</a></p>\n",
        );
        vary(
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, "/timelines")],
                Html(body),
            )
                .into_response(),
        )
    } else {
        vary(
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "dateline: GET /timelines, /timelines/{key}?from=&to=, /healthz, /readyz, /metrics\n",
            )
                .into_response(),
        )
    }
}

async fn list(
    State(view): State<View>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    let format = match query
        .map_err(|e| e.body_text())
        .and_then(|Query(p)| negotiate(&headers, p.format.as_deref()))
    {
        Ok(format) => format,
        Err(message) => return ApiError::bad_request(message, guess(&headers)).into_response(),
    };
    let timelines = view.timelines();
    let response = match format {
        Format::Json => Json(timelines).into_response(),
        Format::Html => Html(render_index(&timelines)).into_response(),
    };
    vary(response)
}

async fn one(
    State(view): State<View>,
    key: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Response {
    match one_inner(&*view, key, &headers, query) {
        Ok(response) => vary(response),
        Err(error) => error.into_response(),
    }
}

fn one_inner(
    view: &dyn TimelineView,
    key: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let fallback = guess(headers);
    let Query(params) = query.map_err(|e| ApiError::bad_request(e.body_text(), fallback))?;
    let format = negotiate(headers, params.format.as_deref())
        .map_err(|m| ApiError::bad_request(m, fallback))?;
    let Path(key) = key.map_err(|e| ApiError::bad_request(e.body_text(), format))?;
    let from =
        parse_day("from", params.from.as_deref()).map_err(|m| ApiError::bad_request(m, format))?;
    let to = parse_day("to", params.to.as_deref()).map_err(|m| ApiError::bad_request(m, format))?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad_request(
            format!("from ({f}) is after to ({t})"),
            format,
        ));
    }
    let Some(entries) = view.entries(&key, from, to) else {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("no timeline {key:?} here"),
            format,
        });
    };
    Ok(match format {
        Format::Json => Json(TimelineBody {
            timeline: &key,
            entries,
        })
        .into_response(),
        Format::Html => Html(render_page(&key, &entries, from, to)).into_response(),
    })
}

/// `None` for an absent or empty parameter, the day for `YYYY-MM-DD`, an error message else.
fn parse_day(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let well_formed = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
    match parsed.filter(|_| well_formed) {
        Some(day) => Ok(Some(day)),
        None => Err(format!(
            "{name}: {value:?} is not a date; expected an ISO date YYYY-MM-DD, e.g. 2019-12-16"
        )),
    }
}

/// The response format: `format` when given, else from the `Accept` header.
fn negotiate(headers: &HeaderMap, format: Option<&str>) -> Result<Format, String> {
    match format.map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(guess(headers)),
        Some(f) if f.eq_ignore_ascii_case("json") => Ok(Format::Json),
        Some(f) if f.eq_ignore_ascii_case("html") => Ok(Format::Html),
        Some(f) => Err(format!("format: {f:?} is neither \"json\" nor \"html\"")),
    }
}

/// The format the `Accept` header asks for.
fn guess(headers: &HeaderMap) -> Format {
    if accepts_html(headers) {
        Format::Html
    } else {
        Format::Json
    }
}

/// True when the `Accept` header ranks HTML strictly above JSON.
fn accepts_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let html = quality(&accept, "text/html").max(quality(&accept, "application/xhtml+xml"));
    html > 0.0 && html > quality(&accept, "application/json")
}

/// The quality the `Accept` header gives `media` (`type/subtype`): that of the most specific
/// range matching it (RFC 9110 §12.5.1), 0 when none does.
fn quality(accept: &str, media: &str) -> f32 {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let specificity = if name == media {
            3
        } else if name.strip_suffix("/*") == Some(kind) {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

// ---------------------------------------------------------------------------------------------
// HTML

/// Escapes text for HTML content and double-quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment (everything but unreserved characters and `:`).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The URL when it is safe to link to: `http` or `https` only (no `javascript:` or `data:`).
fn safe_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
}

/// The first `max` characters of `text`, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1f2933;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1164px; margin: 0 auto; padding: 18px 16px 40px; }
header h1 { font-size: 24px; margin: 0 0 2px; letter-spacing: -0.01em; }
header h1 .key { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
header .meta { color: #52606d; margin: 0 0 12px; }
nav { font-size: 13px; margin-bottom: 8px; }
nav a, a { color: #1d5fa8; }
.bar { display: flex; flex-wrap: wrap; gap: 10px 24px; align-items: center; margin: 0 0 12px; }
.legend { display: flex; gap: 18px; font-size: 13px; color: #3e4c59; align-items: center; }
.legend svg { vertical-align: middle; margin-right: 5px; }
form { display: flex; gap: 8px; align-items: center; font-size: 13px; color: #3e4c59; }
form input { font: inherit; padding: 2px 4px; border: 1px solid #cbd2d9; border-radius: 4px; }
form button { font: inherit; padding: 2px 10px; border: 1px solid #9aa5b1; border-radius: 4px;
  background: #fff; cursor: pointer; }
.chart { background: #fff; border: 1px solid #dde2e8; border-radius: 8px; padding: 10px 9px 4px;
  overflow-x: auto; margin-bottom: 22px; }
.chart svg { display: block; max-width: 100%; height: auto; }
.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.chart .lbl { font-size: 11px; fill: #323f4b; }
.chart .lbl .n { font-weight: 700; }
.chart .tick { font-size: 11px; fill: #52606d; }
.chart .ctx { font-size: 11px; fill: #1f2933; font-weight: 600; }
.chart a:hover .lbl { fill: #000; text-decoration: underline; }
h2 { font-size: 17px; margin: 0 0 10px; }
ol.entries { list-style: none; margin: 0; padding: 0; display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); }
.entry { background: #fff; border: 1px solid #dde2e8; border-radius: 8px; padding: 12px 14px;
  position: relative; }
.entry:target { outline: 2px solid #1d5fa8; }
.when { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; font-size: 13px; color: #52606d; }
.num { display: inline-block; min-width: 22px; padding: 0 5px; border-radius: 11px; text-align: center;
  background: #e4e7eb; color: #1f2933; font-weight: 700; font-size: 12px; }
.when time { color: #1f2933; font-weight: 600; font-size: 14px; }
.when code { font-size: 12px; background: #f0f2f5; padding: 0 4px; border-radius: 3px; }
.kind-day .num { background: #f7d6db; }
.kind-period .num { background: #cde8ec; }
.kind-fuzzy .num { background: #fbe6c2; }
.phrase { font-size: 16px; margin: 6px 0 6px; line-height: 1.3; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0 0 8px; font-size: 13px; }
dt { color: #7b8794; }
dd { margin: 0; }
.modality { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; }
.m-asserted { background: #e3f4e8; color: #1e6b37; }
.m-reported { background: #e6eefb; color: #1d4f91; }
.m-planned { background: #efe7fb; color: #5b2c9c; }
.m-threatened { background: #fdebd3; color: #8a4b08; }
.m-negated { background: #f1f2f4; color: #52606d; text-decoration: line-through; }
blockquote { margin: 0 0 8px; padding: 4px 10px; border-left: 3px solid #dde2e8; color: #3e4c59;
  font-size: 13px; }
.sources { font-size: 13px; }
.sources ul { margin: 2px 0 0; padding-left: 18px; }
.sources .pub { color: #7b8794; }
.empty { color: #52606d; font-style: italic; }
.error { color: #a61b1b; font-weight: 600; }
table { border-collapse: collapse; background: #fff; border: 1px solid #dde2e8; }
th, td { padding: 6px 12px; text-align: left; border-bottom: 1px solid #eef0f3; font-size: 14px; }
th { background: #f7f8fa; font-size: 13px; color: #52606d; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
"#;

/// A whole document: `title` is text, `heading` and `body` are HTML.
fn page(title: &str, heading: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n\
         <nav><a href=\"/timelines\">All timelines</a></nav>\n\
         <header><h1>{heading}</h1></header>\n{body}</main>\n</body>\n</html>\n",
        esc(title),
    )
}

/// The HTML index of `GET /timelines`: every timeline with its size and span, linked.
pub fn render_index(timelines: &[TimelineSummary]) -> String {
    let mut body = String::new();
    if timelines.is_empty() {
        body.push_str("<p class=\"empty\">No timelines here yet.</p>\n");
    } else {
        body.push_str(
            "<table>\n<thead><tr><th>Timeline</th><th>Entries</th><th>Version</th>\
             <th>From</th><th>To</th></tr></thead>\n<tbody>\n",
        );
        for t in timelines {
            let _ = writeln!(
                body,
                "<tr><td><a href=\"/timelines/{}\">{}</a></td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&encode_segment(&t.key)),
                esc(&t.key),
                t.entries,
                t.version,
                t.first.map(|d| d.to_string()).unwrap_or_default(),
                t.last.map(|d| d.to_string()).unwrap_or_default(),
            );
        }
        body.push_str("</tbody>\n</table>\n");
    }
    page("Timelines · dateline", "Timelines", &body)
}

/// The HTML page of one timeline: header, axis with one marker per entry, and one card per
/// entry. Pure: the same entries give the same bytes.
pub fn render_html(key: &str, entries: &[TimelineEntry]) -> String {
    render_page(key, entries, None, None)
}

fn render_page(
    key: &str,
    entries: &[TimelineEntry],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> String {
    let mut body = String::new();
    let reports: usize = entries.iter().map(|e| e.sources.len()).sum();
    let articles: BTreeSet<&str> = entries
        .iter()
        .flat_map(|e| e.sources.iter().map(|s| s.article_id.as_str()))
        .collect();
    let span = match (
        entries.iter().map(|e| e.date.start).min(),
        entries.iter().map(|e| e.date.end).max(),
    ) {
        (Some(a), Some(b)) if a == b => format!(", {}", long_day(a)),
        (Some(a), Some(b)) => format!(", {} – {}", long_day(a), long_day(b)),
        _ => String::new(),
    };
    let _ = writeln!(
        body,
        "<p class=\"meta\">{} {}{}; {} {} from {} {}.</p>",
        entries.len(),
        plural(entries.len(), "event", "events"),
        span,
        reports,
        plural(reports, "report", "reports"),
        articles.len(),
        plural(articles.len(), "article", "articles"),
    );
    body.push_str("<div class=\"bar\">\n");
    body.push_str(&legend());
    let _ = writeln!(
        body,
        "<form method=\"get\" action=\"/timelines/{}\"><label>From <input type=\"date\" name=\"from\" value=\"{}\"></label>\
         <label>to <input type=\"date\" name=\"to\" value=\"{}\"></label><button type=\"submit\">Show</button>\
         <a href=\"/timelines/{}?format=json\">JSON</a></form>",
        esc(&encode_segment(key)),
        from.map(|d| d.to_string()).unwrap_or_default(),
        to.map(|d| d.to_string()).unwrap_or_default(),
        esc(&encode_segment(key)),
    );
    body.push_str("</div>\n");
    if entries.is_empty() {
        body.push_str("<p class=\"empty\">No entries in this range.</p>\n");
    } else {
        body.push_str("<div class=\"chart\">\n");
        body.push_str(&chart(entries));
        body.push_str("</div>\n<h2>Events</h2>\n<ol class=\"entries\">\n");
        for (i, e) in entries.iter().enumerate() {
            card(&mut body, i + 1, e);
        }
        body.push_str("</ol>\n");
    }
    page(
        &format!("{key} · dateline timeline"),
        &format!("Timeline <span class=\"key\">{}</span>", esc(key)),
        &body,
    )
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// "16 Dec 2019".
fn long_day(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// How an entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One day: a dot.
    Day,
    /// A longer interval: a bar.
    Period,
    /// A longer interval with a `mod`: a bar in another colour.
    Fuzzy,
}

impl Kind {
    fn of(e: &TimelineEntry) -> Kind {
        if e.date.start >= e.date.end {
            Kind::Day
        } else if e.date.modifier.is_some() {
            Kind::Fuzzy
        } else {
            Kind::Period
        }
    }

    fn class(self) -> &'static str {
        match self {
            Kind::Day => "kind-day",
            Kind::Period => "kind-period",
            Kind::Fuzzy => "kind-fuzzy",
        }
    }
}

/// The legend: one swatch per kind of marker, drawn like the markers.
fn legend() -> String {
    format!(
        "<div class=\"legend\">\
         <span><svg width=\"14\" height=\"14\" aria-hidden=\"true\"><circle cx=\"7\" cy=\"7\" r=\"{R}\" fill=\"{DAY_FILL}\"/></svg>one day</span>\
         <span><svg width=\"26\" height=\"14\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"24\" height=\"{BAR_H}\" rx=\"3\" fill=\"{PERIOD_FILL}\"/></svg>week, month, year…</span>\
         <span><svg width=\"26\" height=\"14\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"24\" height=\"{BAR_H}\" rx=\"3\" fill=\"{FUZZY_FILL}\"/></svg>part of a period (start, middle, end, about…)</span>\
         </div>\n"
    )
}

fn modality(m: Modality) -> &'static str {
    match m {
        Modality::Asserted => "asserted",
        Modality::Reported => "reported",
        Modality::Planned => "planned",
        Modality::Threatened => "threatened",
        Modality::Negated => "negated",
    }
}

/// One entry's card.
fn card(out: &mut String, n: usize, e: &TimelineEntry) {
    let d = &e.date;
    let when = if d.start == d.end {
        d.start.format("%a %-d %b %Y").to_string()
    } else if d.start.year() == d.end.year() {
        format!(
            "{} – {}",
            d.start.format("%-d %b"),
            d.end.format("%-d %b %Y")
        )
    } else {
        format!("{} – {}", long_day(d.start), long_day(d.end))
    };
    let value = match d.modifier {
        Some(m) => format!("{} {}", d.value, m.as_str()),
        None => d.value.clone(),
    };
    let datetime = if d.start == d.end {
        d.start.to_string()
    } else {
        format!("{}/{}", d.start, d.end)
    };
    let _ = writeln!(
        out,
        "<li class=\"entry {}\" id=\"e{n}\">\n<div class=\"when\"><span class=\"num\">{n}</span>\
         <time datetime=\"{}\">{}</time><code>{}</code><span>“{}”</span></div>",
        Kind::of(e).class(),
        esc(&datetime),
        esc(&when),
        esc(&value),
        esc(&d.text),
    );
    let phrase = if e.event.phrase.trim().is_empty() {
        &e.event.trigger
    } else {
        &e.event.phrase
    };
    let _ = writeln!(out, "<h3 class=\"phrase\">{}</h3>\n<dl>", esc(phrase));
    let m = modality(e.event.modality);
    let _ = writeln!(
        out,
        "<dt>Trigger</dt><dd>{}</dd>\n<dt>Modality</dt><dd><span class=\"modality m-{m}\">{m}</span></dd>",
        esc(&e.event.trigger),
    );
    if !e.event.participants.is_empty() {
        let names: Vec<String> = e.event.participants.iter().map(|p| esc(p)).collect();
        let _ = writeln!(out, "<dt>Participants</dt><dd>{}</dd>", names.join(", "));
    }
    if let Some(place) = &e.event.location {
        let _ = writeln!(out, "<dt>Location</dt><dd>{}</dd>", esc(place));
    }
    out.push_str("</dl>\n");
    if !e.event.sentence.trim().is_empty() {
        let _ = writeln!(
            out,
            "<blockquote>{}</blockquote>",
            esc(&truncate(e.event.sentence.trim(), 400))
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"sources\"><strong>{} {}</strong>\n<ul>",
        e.sources.len(),
        plural(e.sources.len(), "report", "reports"),
    );
    for s in &e.sources {
        let outlet = s.source.as_deref().unwrap_or(&s.article_id);
        let name = match s.url.as_deref().and_then(safe_url) {
            Some(url) => format!(
                "<a href=\"{}\" rel=\"noopener noreferrer nofollow\">{}</a>",
                esc(url),
                esc(outlet)
            ),
            None => esc(outlet),
        };
        let _ = writeln!(
            out,
            "<li>{name} <span class=\"pub\">“{}”, {}</span></li>",
            esc(&s.date_text),
            esc(&s.published_at.format("%-d %b %Y %H:%M %:z").to_string()),
        );
    }
    out.push_str("</ul></div>\n</li>\n");
}

// ---------------------------------------------------------------------------------------------
// The SVG time axis

/// Width of the chart, in CSS pixels (drawn 1:1 on a page at least 1170 pixels wide).
const WIDTH: f64 = 1100.0;
/// Room left and right of the plotted range.
const MARGIN: f64 = 26.0;
/// Height of one lane of markers.
const LANE_H: f64 = 22.0;
/// Space above the first lane.
const TOP: f64 = 10.0;
/// Radius of a day's dot.
const R: f64 = 6.0;
/// Height of a period's bar.
const BAR_H: f64 = 12.0;
/// Lanes before markers may overlap (keeps the chart bounded for huge timelines).
const MAX_LANES: usize = 40;
/// Approximate advance of one character of an 11px label.
const CHAR_W: f64 = 6.4;

/// Maps days to x.
struct Scale {
    /// First day of the plotted range.
    lo: NaiveDate,
    /// Number of days plotted (the last one ends at `x1`).
    days: f64,
    x0: f64,
    x1: f64,
}

impl Scale {
    /// x of the start (midnight) of `day`.
    fn x(&self, day: NaiveDate) -> f64 {
        let offset = (day - self.lo).num_days() as f64;
        self.x0 + offset / self.days * (self.x1 - self.x0)
    }
}

/// The plotted range: the entries' days with some room on each side, at least two weeks.
fn domain(entries: &[TimelineEntry]) -> (NaiveDate, NaiveDate) {
    let lo = entries.iter().map(|e| e.date.start).min();
    let hi = entries.iter().map(|e| e.date.end).max();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        let today = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        return (today, today + Days::new(14));
    };
    let hi = hi.succ_opt().unwrap_or(hi);
    let span = (hi - lo).num_days().max(1);
    let pad = u64::try_from((span as f64 * 0.04).ceil() as i64)
        .unwrap_or(1)
        .max(1);
    let extra = u64::try_from((14 - span).max(0) / 2).unwrap_or(0);
    let lo = lo.checked_sub_days(Days::new(pad + extra)).unwrap_or(lo);
    let hi = hi.checked_add_days(Days::new(pad + extra)).unwrap_or(hi);
    (lo, hi)
}

/// One tick: the day it sits on, its label and, on a second line, the month or year it
/// starts (when it starts one, and on the first tick).
struct Tick {
    day: NaiveDate,
    label: String,
    context: Option<String>,
}

/// Ticks for `[lo, hi)`: years (every 1, 2, 5, 10... years) for ranges over three years,
/// months (every 1, 2, 3 or 6) down to two and a half months, days (every 1, 2, 3, 7 or 14)
/// below; at most about a dozen.
fn ticks(lo: NaiveDate, hi: NaiveDate) -> Vec<Tick> {
    let days = (hi - lo).num_days();
    let mut out = Vec::new();
    if days > 3 * 366 {
        let years = days as f64 / 365.25;
        let step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
            .into_iter()
            .find(|s| years / f64::from(*s) <= 12.0)
            .unwrap_or(1000);
        let mut y = lo.year() + 1;
        y += (step - y.rem_euclid(step)) % step;
        while let Some(day) = NaiveDate::from_ymd_opt(y, 1, 1) {
            if day >= hi {
                break;
            }
            out.push(Tick {
                day,
                label: y.to_string(),
                context: None,
            });
            y += step;
        }
    } else if days > 75 {
        let months = days as f64 / 30.44;
        let step = [1u32, 2, 3, 6]
            .into_iter()
            .find(|s| months / f64::from(*s) <= 12.0)
            .unwrap_or(12);
        let mut day = lo.with_day(1).unwrap_or(lo);
        let mut first = true;
        while day < hi {
            if day >= lo && day.month0().is_multiple_of(step) {
                let context = (first || day.month() == 1).then(|| day.year().to_string());
                first = false;
                out.push(Tick {
                    day,
                    label: day.format("%b").to_string(),
                    context,
                });
            }
            match day.checked_add_months(Months::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
    } else {
        let step = [1u64, 2, 3, 7, 14]
            .into_iter()
            .find(|s| days as f64 / *s as f64 <= 12.0)
            .unwrap_or(14);
        let mut day = lo;
        if step == 7 || step == 14 {
            // Weeks start on Mondays.
            let back = u64::from(day.weekday().num_days_from_monday());
            day = day
                .checked_add_days(Days::new((7 - back) % 7))
                .unwrap_or(day);
        }
        let mut month = None;
        while day < hi {
            let context =
                (month != Some((day.year(), day.month()))).then(|| day.format("%b %Y").to_string());
            month = Some((day.year(), day.month()));
            out.push(Tick {
                day,
                label: day.day().to_string(),
                context,
            });
            match day.checked_add_days(Days::new(step)) {
                Some(next) => day = next,
                None => break,
            }
        }
    }
    out
}

/// One marker laid out: where it is drawn and where its label goes.
struct Placed {
    kind: Kind,
    /// Left and right of the marker.
    x0: f64,
    x1: f64,
    /// Label anchor; labels go right of the marker, or left of it near the right edge.
    label_x: f64,
    label_left: bool,
    lane: usize,
}

/// The SVG chart of `entries`.
fn chart(entries: &[TimelineEntry]) -> String {
    let (lo, hi) = domain(entries);
    let scale = Scale {
        lo,
        days: (hi - lo).num_days().max(1) as f64,
        x0: MARGIN,
        x1: WIDTH - MARGIN,
    };
    let labels: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{} {}", i + 1, truncate(&e.event.trigger, 22)))
        .collect();
    // Lay out left to right; each marker takes the first lane free at its left edge.
    let mut placed: Vec<Placed> = entries
        .iter()
        .zip(&labels)
        .map(|(e, label)| {
            let kind = Kind::of(e);
            let (x0, x1) = match kind {
                Kind::Day => {
                    let next = e.date.start.succ_opt().unwrap_or(e.date.start);
                    let cx = (scale.x(e.date.start) + scale.x(next)) / 2.0;
                    (cx - R, cx + R)
                }
                _ => {
                    let a = scale.x(e.date.start);
                    let b = scale.x(e.date.end.succ_opt().unwrap_or(e.date.end));
                    (a, b.max(a + 4.0))
                }
            };
            let width = label.chars().count() as f64 * CHAR_W;
            let label_left = x1 + 4.0 + width > WIDTH && x0 - 4.0 - width >= 0.0;
            let label_x = if label_left { x0 - 4.0 } else { x1 + 4.0 };
            Placed {
                kind,
                x0,
                x1,
                label_x,
                label_left,
                lane: 0,
            }
        })
        .collect();
    let extent = |p: &Placed, label: &String| {
        let width = label.chars().count() as f64 * CHAR_W;
        if p.label_left {
            (p.label_x - width, p.x1)
        } else {
            (p.x0, p.label_x + width)
        }
    };
    let mut order: Vec<usize> = (0..placed.len()).collect();
    order.sort_by(|&a, &b| {
        extent(&placed[a], &labels[a])
            .0
            .total_cmp(&extent(&placed[b], &labels[b]).0)
    });
    let mut lanes: Vec<f64> = Vec::new();
    for i in order {
        let (left, right) = extent(&placed[i], &labels[i]);
        let lane = match lanes.iter().position(|end| end + 8.0 <= left) {
            Some(lane) => lane,
            None if lanes.len() < MAX_LANES => {
                lanes.push(f64::NEG_INFINITY);
                lanes.len() - 1
            }
            None => lanes
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(lane, _)| lane),
        };
        lanes[lane] = right;
        placed[i].lane = lane;
    }

    let lanes_h = lanes.len().max(1) as f64 * LANE_H;
    let axis_y = (TOP + lanes_h + 6.0).round();
    let height = axis_y + 42.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"Time axis from {lo} to {hi}\" \
         data-domain-start=\"{lo}\" data-domain-days=\"{}\" data-plot-x0=\"{}\" data-plot-x1=\"{}\">",
        scale.days, scale.x0, scale.x1,
    );
    // Grid and tick labels.
    let ticks = ticks(lo, hi);
    for t in &ticks {
        let x = scale.x(t.day).round();
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{TOP}\" width=\"1\" height=\"{}\" fill=\"#e6e9ed\" shape-rendering=\"crispEdges\"/>\
             <rect x=\"{x}\" y=\"{}\" width=\"1\" height=\"6\" fill=\"{AXIS_FILL}\" shape-rendering=\"crispEdges\"/>\
             <text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            axis_y - TOP,
            axis_y + 2.0,
            axis_y + 20.0,
            esc(&t.label),
        );
        if let Some(context) = &t.context {
            // Centred under its tick, but never cut by the edges of the chart.
            let half = context.chars().count() as f64 * CHAR_W / 2.0;
            let cx = x.clamp(half + 2.0, WIDTH - half - 2.0);
            let _ = writeln!(
                svg,
                "<text class=\"ctx\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                axis_y + 35.0,
                esc(context),
            );
        }
    }
    // The axis.
    let _ = writeln!(
        svg,
        "<rect x=\"{}\" y=\"{axis_y}\" width=\"{}\" height=\"2\" fill=\"{AXIS_FILL}\" shape-rendering=\"crispEdges\"/>",
        scale.x0.round(),
        (scale.x1 - scale.x0).round(),
    );
    // Markers.
    for ((n, e), (p, label)) in entries.iter().enumerate().zip(placed.iter().zip(&labels)) {
        let cy = TOP + p.lane as f64 * LANE_H + LANE_H / 2.0;
        let tooltip = format!(
            "{} ({}–{}): {}",
            e.date.text, e.date.start, e.date.end, e.event.phrase
        );
        let _ = write!(
            svg,
            "<a href=\"#e{}\"><title>{}</title>",
            n + 1,
            esc(&tooltip)
        );
        match p.kind {
            Kind::Day => {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{cy}\" r=\"{R}\" fill=\"{DAY_FILL}\"/>",
                    (p.x0 + p.x1) / 2.0
                );
            }
            Kind::Period | Kind::Fuzzy => {
                let fill = if p.kind == Kind::Fuzzy {
                    FUZZY_FILL
                } else {
                    PERIOD_FILL
                };
                let _ = write!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{BAR_H}\" rx=\"3\" fill=\"{fill}\"/>",
                    p.x0,
                    cy - BAR_H / 2.0,
                    p.x1 - p.x0,
                );
            }
        }
        let (number, rest) = label.split_once(' ').unwrap_or((label.as_str(), ""));
        let _ = writeln!(
            svg,
            "<text class=\"lbl\" x=\"{:.1}\" y=\"{}\"{}><tspan class=\"n\">{}</tspan> {}</text></a>",
            p.label_x,
            cy + 4.0,
            if p.label_left {
                " text-anchor=\"end\""
            } else {
                ""
            },
            esc(number),
            esc(rest),
        );
    }
    svg.push_str("</svg>\n");
    svg
}
