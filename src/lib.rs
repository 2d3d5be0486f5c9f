//! dateline turns a stream of news articles into timelines of dated events.
//!
//! Data flows one way: the pipeline reads an article from Kafka, the tagger finds and normalises
//! its temporal expressions against the publication time, event anchoring ties each date to the
//! event it dates, and the timeline layer orders the records and gives them stable ids before the
//! pipeline publishes them, exactly once, downstream. A second stage folds the records of many
//! articles into cross-article timelines (one per entity and one per input topic), one entry per
//! real event, with its state in a compacted changelog.
//!
//! ```
//! use dateline::article::Article;
//! use dateline::timeline;
//!
//! let article = Article {
//!     id: "a1".into(),
//!     published_at: chrono::DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").unwrap(),
//!     text: "The United States on Monday rejected the proposal.".into(),
//!     title: None,
//!     source: None,
//!     url: None,
//!     lang: None,
//! };
//! let records = timeline::extract(&article);
//! assert_eq!(records.len(), 1);
//! assert_eq!(records[0].date.value, "2019-12-16");
//! assert_eq!(records[0].event.trigger, "rejected");
//! ```
//!
//! Modules:
//! - [`article`]: the input contract and its decoding (JSON article or plain text).
//! - [`tagger`]: pure: text + reference time -> TIMEX3 expressions (rules as data, then resolution).
//! - [`events`]: pure: ties each datable expression to its event (trigger, participants, modality).
//! - [`timeline`]: the output record, its order and stable ids; timeline keys, merge rules and the
//!   timeline store (pure).
//! - [`timeml`]: TimeML / TempEval-3 reading, annotation and scoring for `annotate` and `eval`.
//! - [`pipeline`]: Kafka source and sink, transactions, dead letters, shutdown; the timeline stage
//!   and `replay`.
//! - [`config`]: typed configuration: defaults < file < environment < flags.
//! - [`http`]: health, readiness and Prometheus metrics.
//! - [`web`]: `/timelines` as JSON and as an HTML page.
//! - [`telemetry`]: logging setup and the metric names.
//! - [`service`]: `run` and `demo`, wiring config, pipeline, HTTP and telemetry together.
//! - [`schemas`]: JSON Schemas of the contracts, generated from the types.
//! - [`cli`]: the command line of the `dateline` binary.

pub mod article;
pub mod cli;
pub mod config;
pub mod events;
pub mod http;
pub mod pipeline;
pub mod schemas;
pub mod service;
pub mod tagger;
pub mod telemetry;
pub mod timeline;
pub mod timeml;
pub mod web;
