//! Malformed and awkward inputs: each refused with the file, line and column (or the option)
//! named; the small parsers (times, CSV quoting, split names) on their own.

use super::*;

#[test]
fn malformed_jsonl_names_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "a.jsonl",
        "{\"video\": \"a\"}\n{\"label\": \"b\"}\n",
    );
    annotation_error(&path, &AnnotationOptions::default(), 2, "video");
    let path = write(dir.path(), "b.jsonl", "{\"video\": \"a\"}\n{\"video\": \n");
    let text = annotation_error(&path, &AnnotationOptions::default(), 2, "10");
    assert!(text.contains("not valid JSON"), "{text}");
    let path = write(
        dir.path(),
        "c.jsonl",
        "{\"video\": \"a\", \"start\": 5, \"end\": 5}\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 1, "end");
    assert!(text.contains("end 5 s is not after start 5 s"), "{text}");
    let path = write(dir.path(), "d.jsonl", "{\"video\": \"a\", \"start\": 5}\n");
    annotation_error(&path, &AnnotationOptions::default(), 1, "end");
}

#[test]
fn a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,split\nabseiling,abc,0,train\n",
    );
    let opts = AnnotationOptions {
        format: Some(Format::Kinetics),
        ..Default::default()
    };
    let text = annotation_error(&path, &opts, 1, "time_end");
    assert!(text.contains("no column 'time_end'"), "{text}");
    // A row shorter than the header names the first column it lacks.
    let path = write(
        dir.path(),
        "short.csv",
        "label,youtube_id,time_start,time_end,split\nabseiling,abc,0\n",
    );
    annotation_error(&path, &AnnotationOptions::default(), 2, "time_end");
}

#[test]
fn bad_time_syntax_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,time_end,split\nabseiling,abc,1O,20,train\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 2, "time_start");
    assert!(text.contains("'1O' is not a time"), "{text}");
    let path = write(
        dir.path(),
        "EPIC_100_train.csv",
        format!("{EPIC_HEADER}\nP01_1_0,P01,P01_1,,00:61:00,00:62:00,1,2,x,take,0,plate,2,,\n"),
    );
    annotation_error(&path, &AnnotationOptions::default(), 2, "start_timestamp");
}

#[test]
fn end_not_after_start_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,time_end,split\nabseiling,abc,20,10,train\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 2, "time_end");
    assert!(text.contains("end 10 s is not after start 20 s"), "{text}");
    let path = write(
        dir.path(),
        "Charades_v1_test.csv",
        format!("{CHARADES_HEADER_LINE}\nAB12,P,Hall,6,7,Yes,s,o,d,c001 3.0 3.0,10\n"),
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 2, "actions");
    assert!(text.contains("is not after start"), "{text}");
}

#[test]
fn an_unknown_class_is_named_with_a_class_file() {
    let dir = tempfile::tempdir().unwrap();
    let classes = write(dir.path(), "classes.txt", "abseiling\nair drumming\n");
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,time_end,split\nair drumming,a,0,10,train\nzumba,b,0,10,train\n",
    );
    let mut opts = AnnotationOptions {
        classes_file: Some(classes.clone()),
        ..Default::default()
    };
    let text = annotation_error(&path, &opts, 3, "label");
    assert!(
        text.contains("unknown class 'zumba'") && text.contains("classes.txt"),
        "{text}"
    );
    // Only the kept split's rows are checked; the class list is the file's, in its order.
    let path = write(
        dir.path(),
        "k2.csv",
        "label,youtube_id,time_start,time_end,split\nair drumming,a,0,10,train\nzumba,b,0,10,val\n",
    );
    opts.split = Some("train".into());
    let a = read(&path, &opts);
    assert_eq!(a.classes, ["abseiling", "air drumming"]);
    // A numbered list (classInd style) gives the names after the numbers.
    let numbered = write(dir.path(), "numbered.txt", "1 abseiling\n2 air drumming\n");
    opts.classes_file = Some(numbered);
    assert_eq!(read(&path, &opts).classes, ["abseiling", "air drumming"]);
}

#[test]
fn a_duplicate_row_id_names_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,time_end,split\na,abc,0,10,train\nb,abd,0,10,train\nc,abc,0,10,val\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 4, "youtube_id");
    assert!(
        text.contains("'abc_0_10'") && text.contains("line 2"),
        "{text}"
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"label,youtube_id,time_start,time_end,split\na,abc,0,10,train\nb,ab".to_vec();
    bytes.extend([0xff, b'x']);
    bytes.extend(b",0,10,train\n");
    let path = write(dir.path(), "k.csv", bytes);
    let text = annotation_error(&path, &AnnotationOptions::default(), 3, "5");
    assert!(text.contains("UTF-8") && text.contains("0xff"), "{text}");
}

#[test]
fn an_empty_file_or_a_header_only_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "k.csv", "");
    let text = annotation_error(&path, &AnnotationOptions::default(), 1, "-");
    assert!(text.contains("empty"), "{text}");
    let path = write(dir.path(), "bom.csv", "\u{feff}\n \n");
    annotation_error(&path, &AnnotationOptions::default(), 1, "-");
    let path = write(
        dir.path(),
        "h.csv",
        "label,youtube_id,time_start,time_end,split\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 1, "-");
    assert!(text.contains("header only"), "{text}");
}

#[test]
fn csv_syntax_errors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,time_end,split\n\"open,abc,0,10,train\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 2, "1");
    assert!(text.contains("never closed"), "{text}");
    let path = write(
        dir.path(),
        "k2.csv",
        "label,youtube_id,time_start,time_end,split\n\"a\"b,abc,0,10,train\n",
    );
    annotation_error(&path, &AnnotationOptions::default(), 2, "1");
    let path = write(
        dir.path(),
        "k3.csv",
        "label,youtube_id,time_start,time_end,split\na,b,c,0,10,train\n",
    );
    annotation_error(&path, &AnnotationOptions::default(), 2, "6");
}

#[test]
fn a_bom_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "\u{feff}label,youtube_id,time_start,time_end,split\na,abc,0,10,train\n",
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Kinetics);
    assert_eq!(a.rows[0].labels, ["a"]);
}

#[test]
fn columns_are_refused_for_a_fixed_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "k.csv", KINETICS);
    let opts = AnnotationOptions {
        format: Some(Format::Kinetics),
        columns: columns(&[("video", "youtube_id")]),
        ..Default::default()
    };
    let text = param_error(&path, &opts);
    assert!(text.contains("set the format option to csv"), "{text}");
}

#[test]
fn formats_are_detected_from_name_and_header() {
    let d = |name: &str, head: &str| detect_format(Path::new(name), head);
    assert_eq!(
        d("x.csv", "label,youtube_id,time_start,time_end,split\n"),
        Some(Format::Kinetics)
    );
    assert_eq!(
        d(
            "x.csv",
            "label,youtube_id,time_start,time_end,split,is_cc\r\n"
        ),
        Some(Format::Kinetics)
    );
    assert_eq!(
        d("x.csv", "youtube_id,time_start,time_end,split\n"),
        Some(Format::Kinetics)
    );
    assert_eq!(
        d("x.csv", &format!("{CHARADES_HEADER_LINE}\n")),
        Some(Format::Charades)
    );
    assert_eq!(
        d("x.csv", "narration_id,participant_id,video_id,start_timestamp,stop_timestamp,start_frame,stop_frame\n"),
        Some(Format::Epic)
    );
    assert_eq!(
        d("/data/trainlist01.txt", "A/v_A.avi 1\n"),
        Some(Format::Ucf101)
    );
    assert_eq!(d("testlist03.txt", "A/v_A.avi\n"), Some(Format::Ucf101));
    assert_eq!(
        d("brush_hair_test_split1.txt", "a.avi 1\n"),
        Some(Format::Hmdb51)
    );
    assert_eq!(
        d(
            "x.json",
            "[\n  {\"id\": \"1\", \"label\": \"a\", \"template\": \"A\"}"
        ),
        Some(Format::Ssv2)
    );
    assert_eq!(
        d("something-something-v2-test.json", "[{\"id\": \"1\"}]"),
        Some(Format::Ssv2)
    );
    assert_eq!(d("x.json", "[{\"id\": \"1\"}]"), None);
    assert_eq!(d("x.jsonl", "{\"video\": \"a\"}\n"), Some(Format::Jsonl));
    assert_eq!(d("x.csv", "path,label\n"), None);
    assert_eq!(d("notes.txt", "hello\n"), None);
}

#[test]
fn format_pattern_fills_fields() {
    let fields = map(&[("a", "x"), ("b", "10.0"), ("n", "-5"), ("f", "1.5")]);
    let f = |p: &str| format_pattern(p, &fields);
    assert_eq!(f("{a}_{b:06d}.mp4").unwrap(), "x_000010.mp4");
    assert_eq!(f("{n:06d}").unwrap(), "-00005");
    assert_eq!(f("{b:d}|{b:4d}").unwrap(), "10|  10");
    assert_eq!(f("{{{a}}}").unwrap(), "{x}");
    assert_eq!(f("plain").unwrap(), "plain");
    let e = f("{zz}.mp4").unwrap_err();
    assert_eq!(e.name, "pattern");
    assert!(
        e.reason.contains("'zz'") && e.reason.contains("a, b, f, n"),
        "{e}"
    );
    let e = f("{f:06d}").unwrap_err();
    assert!(e.reason.contains("'1.5'"), "{e}");
    assert!(f("{a").is_err());
    assert!(f("a}").is_err());
    assert!(f("{a:x}").is_err());
    assert!(f("{}").is_err());
}

#[test]
fn times_parse_as_seconds_or_timestamps() {
    assert_eq!(parse_seconds("12.5"), Ok(12.5));
    assert_eq!(parse_seconds(" 12 "), Ok(12.0));
    assert_eq!(parse_seconds("00:01:02.35"), Ok(62.35));
    assert_eq!(parse_seconds("01:02:03"), Ok(3723.0));
    assert_eq!(parse_seconds("1:05.5"), Ok(65.5));
    assert_eq!(parse_seconds(".5"), Ok(0.5));
    for bad in [
        "", "abc", "-1", "1e3", "1:2:3:4", "00:60:00", "00:00:60", "1::2", "1.2.3", ":5",
    ] {
        assert!(parse_seconds(bad).is_err(), "{bad}");
    }
}

#[test]
fn csv_reader_follows_rfc_4180() {
    let records = read_csv("a,\"b,c\",\"d\"\"e\"\r\n\r\n\"x\ny\",,\n").unwrap();
    let got: Vec<(usize, Vec<&str>)> = records
        .iter()
        .map(|r| (r.line, r.fields.iter().map(|f| f.as_ref()).collect()))
        .collect();
    assert_eq!(
        got,
        [(1, vec!["a", "b,c", "d\"e"]), (3, vec!["x\ny", "", ""])]
    );
    assert_eq!(read_csv("a,b").unwrap()[0].fields, ["a", "b"]);
    assert_eq!(read_csv("\"\"\n").unwrap()[0].fields, [""]);
    // Doubled quotes anywhere in a quoted field; a trailing comma at the very end; blanks and
    // CRLF after a closing quote; a lone CR and an inner quote kept in unquoted fields.
    let r = read_csv("\"\"\"a\"\"\"\"\",b,\n\"c\"  \r\nd\re,f\"g\na,").unwrap();
    let got: Vec<(usize, Vec<&str>)> = r
        .iter()
        .map(|r| (r.line, r.fields.iter().map(|f| f.as_ref()).collect()))
        .collect();
    assert_eq!(
        got,
        [
            (1, vec!["\"a\"\"", "b", ""]),
            (2, vec!["c"]),
            (3, vec!["d\re", "f\"g"]),
            (4, vec!["a", ""])
        ]
    );
    // Lines inside quoted fields are counted for the records after them.
    let r = read_csv("\"x\n\ny\"\nz\n").unwrap();
    assert_eq!((r[1].line, r[1].fields[0].as_ref()), (4, "z"));
    let e = read_csv("a\n\"b\"c\n").unwrap_err();
    assert_eq!((e.line, e.field), (2, 1), "{}", e.reason);
    assert!(
        e.reason.contains("('c') after the closing quote"),
        "{}",
        e.reason
    );
    let e = read_csv("a\n\n\"b\nc\n").unwrap_err();
    assert_eq!(e.line, 3, "{}", e.reason);
}

#[test]
fn splits_come_from_file_names() {
    let s = |name: &str| split_from_name(Path::new(name));
    assert_eq!(s("EPIC_100_train.csv").as_deref(), Some("train"));
    assert_eq!(s("EPIC_100_validation.csv").as_deref(), Some("val"));
    assert_eq!(s("EPIC_100_test_timestamps.csv").as_deref(), Some("test"));
    assert_eq!(
        s("something-something-v2-validation.json").as_deref(),
        Some("val")
    );
    assert_eq!(s("Charades_v1_test.csv").as_deref(), Some("test"));
    assert_eq!(s("annotations.csv"), None);
}
