//! TimeML / TempEval-3: reading gold documents, writing dateline's annotation, scoring it.
//!
//! This is how the tagger is measured against annotated corpora (TimeBank, AQUAINT, WikiWars):
//! - [`doc`]: reads a TimeML file: its creation time (DCT), the plain text of `<TEXT>`, the gold
//!   `TIMEX3`s, and the map from plain-text offsets back to the bytes of the file;
//! - [`annotate`]: replaces the gold annotation with the tagger's `TIMEX3`s, every other byte
//!   left as it was, in the form the TempEval-3 scorer accepts;
//! - [`eval`]: the TempEval-3 TIMEX3 metrics: strict and relaxed P/R/F1, value and type F1;
//! - [`cli`]: `dateline annotate` and `dateline eval`, thin glue over the three;
//! - `xml` (private): the small tokenizer underneath, which keeps byte offsets.
//!
//! Offsets in spans are byte offsets into the plain text ([`doc::Document::text`]) unless a
//! name says `raw`.

pub mod annotate;
pub mod cli;
pub mod doc;
pub mod eval;
mod xml;

pub use annotate::{AnnotateError, annotate_document};
pub use doc::{Document, ParseError, TimexTag};
pub use eval::{Scores, score};
