//! TimeML reading, annotation and TempEval-3 scoring, on hand-made documents and on the real
//! corpora in `../shared/corpora` (TimeBank, AQUAINT, WikiWars).

use std::path::{Path, PathBuf};
use std::process::Command;

use dateline::timeml::annotate::{self, annotate_document};
use dateline::timeml::doc::Document;
use dateline::timeml::eval::{self, Counts, Scores};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora")
}

/// Every `.tml` file of the corpora, sorted.
fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tbaq/TimeBank", "tbaq/AQUAINT", "wikiwars"] {
        let dir = corpora().join(dir);
        for entry in std::fs::read_dir(&dir).expect("corpus folder") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "tml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 278, "corpora incomplete: {}", files.len());
    files
}

fn parse(path: &Path) -> Document {
    let raw = std::fs::read_to_string(path).expect("readable");
    Document::parse(raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_corpus_document_parses_with_a_dct_and_gold_timexes() {
    let mut gold = 0;
    for path in corpus_files() {
        let doc = parse(&path);
        let dct = doc.dct().expect("a DCT");
        dct.reference_time()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for t in doc.timexes() {
            assert_eq!(&doc.text()[t.span.clone()], t.text, "{}", path.display());
        }
        gold += doc.timexes().len();
    }
    // 1,243 TimeBank + 579 AQUAINT + 2,636 WikiWars.
    assert_eq!(gold, 4458);
}

#[test]
fn gold_scores_itself_perfectly() {
    let docs: Vec<Document> = corpus_files().iter().map(|p| parse(p)).collect();
    let scores = eval::score(docs.iter().map(|d| (d.timexes(), d.timexes())));
    assert_eq!(scores.counts.gold, 4458);
    assert_eq!(scores.counts.strict, 4458);
    for x in [
        scores.strict.f1,
        scores.relaxed.f1,
        scores.value_f1,
        scores.type_f1,
    ] {
        assert_eq!(x, 1.0);
    }
}

/// Gold spans written back by `annotate` come out as they went in, and the file outside the
/// tags is the stripped gold file byte for byte.
#[test]
fn round_trip_of_gold_spans_through_annotate() {
    for path in corpus_files() {
        let gold = parse(&path);
        let placed = annotate::place(&gold, gold.timexes().to_vec());
        assert_eq!(placed.len(), gold.timexes().len(), "{}", path.display());
        let out = Document::parse(annotate::render(&gold, &placed)).expect("output parses");
        assert_eq!(out.text(), gold.text());
        assert_eq!(out.timexes(), placed.as_slice());
        assert_eq!(
            annotate::strip(&out),
            annotate::strip(&gold),
            "{}",
            path.display()
        );
        let scores = eval::score([(gold.timexes(), out.timexes())]);
        assert_eq!(scores.value_f1, 1.0, "{}", path.display());
    }
}

/// What the tagger writes is what `eval --tag` scores, and stripping it gives the stripped gold.
#[test]
fn round_trip_of_tagger_output_through_annotate() {
    for path in &corpus_files() {
        let raw = std::fs::read_to_string(path).expect("readable");
        let gold = Document::parse(raw.as_str()).expect("gold parses");
        let out = Document::parse(annotate_document(&raw).expect("annotates")).expect("parses");
        assert_eq!(out.text(), gold.text());
        assert_eq!(
            annotate::strip(&out),
            annotate::strip(&gold),
            "{}",
            path.display()
        );
        let in_memory = annotate::system_timexes(&gold).expect("tags");
        assert_eq!(out.timexes(), in_memory.as_slice(), "{}", path.display());
        // The DCT is kept and the new tids start after it.
        assert!(out.raw().contains("functionInDocument=\"CREATION_TIME\""));
        assert!(out.timexes().iter().all(|t| t.tid != "t0"));
        assert!(!out.raw().contains("<EVENT") && !out.raw().contains("<TLINK"));
    }
}

const GOLD: &str = r#"<?xml version="1.0" ?>
<TimeML>
<DCT><TIMEX3 tid="t0" type="DATE" value="1998-02-27" temporalFunction="false" functionInDocument="CREATION_TIME">02/27/1998</TIMEX3></DCT>
<TEXT>
AT&amp;T <EVENT eid="e1" class="REPORTING">said</EVENT> on <TIMEX3 tid="t1" type="DATE" value="1998-02-23">Monday</TIMEX3> that profits rose <TIMEX3 tid="t2" type="DATE" value="1998-W08">last week</TIMEX3> and would rise for <TIMEX3 tid="t3" type="DURATION" value="P3Y">three years</TIMEX3>, &quot;at least&quot; until 2001.
</TEXT>
<MAKEINSTANCE eiid="ei1" eventID="e1" tense="PAST" aspect="NONE" polarity="POS" pos="VERB"/>
<TLINK lid="l1" relType="IS_INCLUDED" eventInstanceID="ei1" relatedToTime="t1"/>
</TimeML>
"#;

/// One strict match (Monday), one relaxed-only match with a wrong value (week / last week), one
/// missing (three years), one spurious (2001).
const SYSTEM: &str = r#"<?xml version="1.0" ?>
<TimeML>
<DCT><TIMEX3 tid="t0" type="DATE" value="1998-02-27" temporalFunction="false" functionInDocument="CREATION_TIME">02/27/1998</TIMEX3></DCT>
<TEXT>
AT&amp;T said on <TIMEX3 tid="t1" type="DATE" value="1998-02-23">Monday</TIMEX3> that profits rose last <TIMEX3 tid="t2" type="DATE" value="1998-W09">week</TIMEX3> and would rise for three years, &quot;at least&quot; until <TIMEX3 tid="t3" type="DATE" value="2001">2001</TIMEX3>.
</TEXT>
</TimeML>
"#;

#[test]
fn hand_made_pair_gives_known_scores() {
    let gold = Document::parse(GOLD).expect("gold");
    let system = Document::parse(SYSTEM).expect("system");
    eval::same_text(&gold, &system).expect("same text");
    let cmp = eval::compare(gold.timexes(), system.timexes());
    assert_eq!(
        cmp.counts,
        Counts {
            gold: 3,
            system: 3,
            strict: 1,
            relaxed: 2,
            value: 1,
            kind: 2,
        }
    );
    let s = Scores::from_counts(cmp.counts);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(s.strict.precision, 1.0 / 3.0) && close(s.strict.recall, 1.0 / 3.0));
    assert!(close(s.strict.f1, 1.0 / 3.0));
    assert!(close(s.relaxed.precision, 2.0 / 3.0) && close(s.relaxed.recall, 2.0 / 3.0));
    assert!(close(s.relaxed.f1, 2.0 / 3.0));
    assert!(close(s.value_accuracy, 0.5) && close(s.value_f1, 1.0 / 3.0));
    assert!(close(s.type_accuracy, 1.0) && close(s.type_f1, 2.0 / 3.0));

    insta::assert_snapshot!(eval::render_table(1, &s, &[]), @r"
    TempEval-3 TIMEX3 scores, documents: 1
                     P       R      F1
    strict       33.33   33.33   33.33
    relaxed      66.67   66.67   66.67
    value F1                     33.33   (accuracy 50.00)
    type F1                      66.67   (accuracy 100.00)
    gold 3  system 3  strict matches 1  relaxed matches 2  right value 1  right type 2
    ");
    insta::assert_snapshot!(eval::render_mismatches(gold.text(), &cmp.mismatches), @r#"
      span+value gold "last week" DATE 1998-W08  system "week" DATE 1998-W09  | AT&T said on Monday that profits rose [last week] and would rise for three years, "at lea
      missing   "three years" DURATION P3Y  | ofits rose last week and would rise for [three years], "at least" until 2001.
      spurious  "2001" DATE 2001  | rise for three years, "at least" until [2001].
    "#);
}

#[test]
fn entities_are_decoded_in_text_and_kept_escaped_in_output() {
    let gold = Document::parse(GOLD).expect("gold");
    let text = gold.text();
    assert!(text.starts_with("\nAT&T said on Monday"));
    let monday = &gold.timexes()[0];
    assert_eq!(
        (monday.span.clone(), monday.text.as_str()),
        (14..20, "Monday")
    );
    assert_eq!(gold.dct().map(|d| d.value.as_str()), Some("1998-02-27"));
    assert_eq!(gold.next_tid(), 1);

    // A timex over "AT&T" and one over "at least" (quotes outside): the tags go around the
    // entities, never inside them.
    let at_least = text.find("at least").expect("in text");
    let mut att = gold.timexes()[0].clone();
    att.span = 1..5;
    let mut quoted = gold.timexes()[0].clone();
    quoted.span = at_least - 1..at_least + 9;
    let placed = annotate::place(&gold, [att, quoted]);
    let out = annotate::render(&gold, &placed);
    assert!(out.contains(">AT&amp;T</TIMEX3> said on Monday"), "{out}");
    assert!(
        out.contains(r#"">&quot;at least&quot;</TIMEX3> until"#),
        "{out}"
    );
    // Outside the tags, the stripped output is the stripped gold.
    let reparsed = Document::parse(out).expect("parses");
    assert_eq!(annotate::strip(&reparsed), annotate::strip(&gold));
    assert!(!annotate::strip(&gold).contains("TLINK"));
}

/// Runs the binary, which must succeed, and returns its stdout.
fn dateline(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dateline"))
        .args(args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dateline {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `annotate` then `eval GOLD SYS` scores the same as `eval GOLD --tag`.
#[test]
fn cli_annotate_then_eval_equals_eval_tag() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let gold = tmp.path().join("gold");
    for (folder, name) in [
        ("tbaq/TimeBank", "ABC19980108.1830.0711.tml"),
        ("tbaq/AQUAINT", "APW19980807.0261.tml"),
        ("wikiwars", "07_IraqWar.tml"),
    ] {
        let dir = gold.join(folder.rsplit('/').next().expect("name"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::copy(corpora().join(folder).join(name), dir.join(name)).expect("copy");
    }
    let sys = tmp.path().join("sys");
    let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
    dateline(&["annotate", "--timeml", &path(&gold), &path(&sys)]);
    assert!(sys.join("wikiwars/07_IraqWar.tml").is_file());
    let files = dateline(&["eval", &path(&gold), &path(&sys), "--json"]);
    let tagged = dateline(&["eval", &path(&gold), "--tag", "--json"]);
    let files: serde_json::Value = serde_json::from_str(&files).expect("JSON");
    let tagged: serde_json::Value = serde_json::from_str(&tagged).expect("JSON");
    assert_eq!(files["documents"], 3);
    assert_eq!(files["scores"], tagged["scores"]);
    assert_eq!(files["groups"].as_array().map(Vec::len), Some(3));
    let gold_self = dateline(&["eval", &path(&gold), &path(&gold), "--json", "--errors"]);
    let gold_self: serde_json::Value = serde_json::from_str(&gold_self).expect("JSON");
    assert_eq!(gold_self["scores"]["value_f1"], 1.0);
    assert_eq!(gold_self["errors"].as_array().map(Vec::len), Some(0));
}
