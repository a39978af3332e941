//! Every format parsed from small files, and malformed inputs named by file, line and column.

use super::text::{parse_seconds, read_csv, split_from_name};
use super::*;
use std::path::PathBuf;

mod malformed;

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn read(path: &Path, opts: &AnnotationOptions) -> Annotations {
    read_annotations(path, opts).unwrap_or_else(|e| panic!("{e}"))
}

fn columns(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The error must be an Annotation error at `line`, `column`, and its message must name the
/// file, the line and the column.
fn annotation_error(path: &Path, opts: &AnnotationOptions, line: usize, column: &str) -> String {
    let e = read_annotations(path, opts).expect_err("a malformed file must not read");
    match &e {
        DatasetError::Annotation {
            path: p,
            line: l,
            column: c,
            ..
        } => {
            assert_eq!(p, path, "{e}");
            assert_eq!((*l, c.as_str()), (line, column), "{e}");
        }
        other => panic!("not an Annotation error: {other}"),
    }
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains(&format!("line {line}, column {column}:")),
        "{text}"
    );
    text
}

fn param_error(path: &Path, opts: &AnnotationOptions) -> String {
    match read_annotations(path, opts) {
        Err(e @ DatasetError::InvalidParameter { .. }) => e.to_string(),
        Err(other) => panic!("not a parameter error: {other}"),
        Ok(_) => panic!("read without an error"),
    }
}

fn seconds(start: f64, end: f64) -> Option<Segment> {
    Some(Segment {
        start: TimeSpec::Seconds(start),
        end: TimeSpec::Seconds(end),
    })
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    columns(pairs)
}

const KINETICS: &str = "label,youtube_id,time_start,time_end,split,is_cc\n\
    abseiling,abc,10.0,20.0,train,0\n\
    \"dancing, ballet\",xyz,3,13,val,1\n\
    \"say \"\"hi\"\"\",q1,0,10,train,0\n";

#[test]
fn kinetics_trimmed_clips_have_no_segment() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "train.csv", KINETICS);
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Kinetics);
    assert_eq!(a.rows.len(), 3);
    let r = &a.rows[0];
    assert_eq!(r.line, 2);
    assert_eq!(r.video, "abc_000010_000020.mp4");
    assert_eq!(r.segment, None);
    assert_eq!(r.labels, ["abseiling"]);
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!(r.row_id, "abc_10.0_20.0");
    // The id and times are in the row id, not repeated as extra columns.
    assert_eq!(r.extra, map(&[("is_cc", "0")]));
    assert_eq!(a.rows[1].labels, ["dancing, ballet"]);
    assert_eq!(a.rows[1].video, "xyz_000003_000013.mp4");
    assert_eq!(a.rows[2].labels, ["say \"hi\""]);
    assert_eq!(a.classes, ["abseiling", "dancing, ballet", "say \"hi\""]);
}

#[test]
fn kinetics_untrimmed_pattern_gives_segments_and_split_filter() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "train.csv", KINETICS);
    let mut opts = AnnotationOptions {
        filename_pattern: Some("{youtube_id}.mp4".into()),
        ..Default::default()
    };
    let a = read(&path, &opts);
    assert_eq!(a.rows[0].video, "abc.mp4");
    assert_eq!(a.rows[0].segment, seconds(10.0, 20.0));
    assert!(!a.rows[0].extra.contains_key("time_start"));
    opts.split = Some("val".into());
    let a = read(&path, &opts);
    assert_eq!(a.rows.len(), 1);
    assert_eq!(a.rows[0].row_id, "xyz_3_13");
    // Classes come from every split, so indices agree between splits.
    assert_eq!(a.classes.len(), 3);
    opts.split = Some("test".into());
    let text = param_error(&path, &opts);
    assert!(
        text.contains("'test'") && text.contains("train, val"),
        "{text}"
    );
}

#[test]
fn a_newline_inside_quotes_keeps_later_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "k.csv",
        "label,youtube_id,time_start,time_end,split\r\n\"two\r\nlines\",a,0,10,train\r\n\r\nb,c,0,10,train\r\n",
    );
    let a = read(&path, &AnnotationOptions::default());
    // The line end inside the quotes is kept as written.
    assert_eq!(a.rows[0].labels, ["two\r\nlines"]);
    assert_eq!(a.rows[0].line, 2);
    assert_eq!(a.rows[1].line, 5);
}

#[test]
fn ssv2_classes_follow_the_labels_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "something-something-v2-train.json",
        r#"[{"id":"78687","label":"holding potato next to a bottle","template":"Holding [something] next to [something]","placeholders":["potato","a bottle"]},
            {"id":"42326","label":"spreading margarine onto bread","template":"Spreading [something] onto [something]","placeholders":["margarine","bread"]}]"#,
    );
    write(
        dir.path(),
        "something-something-v2-labels.json",
        r#"{"Spreading something onto something": "0", "Approaching something with your camera": "2", "Holding something next to something": "1"}"#,
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Ssv2);
    assert_eq!(
        a.classes,
        [
            "Spreading something onto something",
            "Holding something next to something",
            "Approaching something with your camera"
        ]
    );
    let r = &a.rows[0];
    assert_eq!((r.line, r.row_id.as_str()), (1, "78687"));
    assert_eq!(r.video, "78687.webm");
    assert_eq!(r.labels, ["Holding something next to something"]);
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!(
        r.extra,
        map(&[
            ("label", "holding potato next to a bottle"),
            ("placeholders", r#"["potato","a bottle"]"#)
        ])
    );
    assert_eq!(a.rows[1].line, 2);
    assert_eq!(a.rows[1].labels, ["Spreading something onto something"]);
}

#[test]
fn ssv2_test_list_is_unlabelled_and_sorted_classes_without_labels_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "something-something-v2-test.json",
        r#"[{"id":"1420"},{"id":1421}]"#,
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Ssv2);
    assert!(a.rows.iter().all(|r| r.labels.is_empty()));
    assert_eq!(a.rows[1].video, "1421.webm");
    assert_eq!(a.rows[0].split.as_deref(), Some("test"));
    assert!(a.classes.is_empty());
    let path = write(
        dir.path(),
        "something-something-v2-validation.json",
        r#"[{"id":"1","template":"Pushing [something]"},{"id":"2","template":"Dropping [something]"}]"#,
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.rows[0].split.as_deref(), Some("val"));
    assert_eq!(a.classes, ["Dropping something", "Pushing something"]);
}

#[test]
fn ucf101_lists_use_class_ind() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "classInd.txt",
        "1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 Archery\r\n",
    );
    let path = write(
        dir.path(),
        "trainlist01.txt",
        "ApplyLipstick/v_ApplyLipstick_g08_c01.avi 2\r\nApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1\r\n",
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Ucf101);
    assert_eq!(a.classes, ["ApplyEyeMakeup", "ApplyLipstick", "Archery"]);
    let r = &a.rows[0];
    assert_eq!(r.video, "ApplyLipstick/v_ApplyLipstick_g08_c01.avi");
    assert_eq!(r.labels, ["ApplyLipstick"]);
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!((r.line, r.row_id.as_str()), (1, "line 1"));
    assert_eq!(r.extra, map(&[("class_index", "2")]));
    assert_eq!(a.rows[1].labels, ["ApplyEyeMakeup"]);

    let path = write(
        dir.path(),
        "trainlist02.txt",
        "Archery/v_Archery_g01_c01.avi 2\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 1, "class index");
    assert!(
        text.contains("'ApplyLipstick'") && text.contains("'Archery'"),
        "{text}"
    );
    let path = write(
        dir.path(),
        "trainlist03.txt",
        "Archery/v_Archery_g01_c01.avi 7\n",
    );
    annotation_error(&path, &AnnotationOptions::default(), 1, "class index");
    // A folder classInd.txt does not name is an unknown class.
    let path = write(
        dir.path(),
        "testlist01.txt",
        "\nBowling/v_Bowling_g01_c01.avi\n",
    );
    let text = annotation_error(&path, &AnnotationOptions::default(), 2, "path");
    assert!(text.contains("unknown class 'Bowling'"), "{text}");
}

#[test]
fn ucf101_testlist_without_class_ind_sorts_folders() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "testlist01.txt",
        "YoYo/v_YoYo_g01_c01.avi\nArchery/v_Archery_g01_c01.avi\n",
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.classes, ["Archery", "YoYo"]);
    assert_eq!(a.rows[1].split.as_deref(), Some("test"));
    assert!(a.rows[1].extra.is_empty());
}

#[test]
fn hmdb51_tags_pick_the_split() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "brush_hair_test_split1.txt",
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 \nb.avi 2 \nc.avi 0 \n",
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Hmdb51);
    assert_eq!(a.rows.len(), 2);
    let r = &a.rows[0];
    assert_eq!(
        r.video,
        "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"
    );
    assert_eq!(r.labels, ["brush_hair"]);
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!(
        (a.rows[1].line, a.rows[1].split.as_deref()),
        (2, Some("test"))
    );
    assert_eq!(a.classes, ["brush_hair"]);
    let path = write(dir.path(), "wave_test_split2.txt", "a.avi 3\n");
    annotation_error(&path, &AnnotationOptions::default(), 1, "tag");
    let path = write(dir.path(), "wave_test_split3.txt", "a.avi 0\n");
    let text = annotation_error(&path, &AnnotationOptions::default(), 1, "-");
    assert!(text.contains("tagged 0"), "{text}");
}

const EPIC_HEADER: &str = "narration_id,participant_id,video_id,narration_timestamp,start_timestamp,stop_timestamp,start_frame,stop_frame,narration,verb,verb_class,noun,noun_class,all_nouns,all_noun_classes";

#[test]
fn epic_segments_come_from_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{EPIC_HEADER}\n\
         P01_11_0,P01,P01_11,00:00:00.560,00:00:00.14,00:00:03.37,8,202,take plate,take,0,plate,2,['plate'],[2]\n\
         P01_11_1,P01,P01_11,00:01:02.00,00:01:02.35,01:02:03.5,3741,223410,put plate on cup,put,1,plate,2,\"['plate', 'cup']\",\"[2, 13]\"\n"
    );
    let path = write(dir.path(), "EPIC_100_validation.csv", text);
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Epic);
    let r = &a.rows[0];
    assert_eq!(r.row_id, "P01_11_0");
    assert_eq!(r.video, "P01/videos/P01_11.MP4");
    assert_eq!(r.segment, seconds(0.14, 3.37));
    assert_eq!(r.labels, ["take"]);
    assert_eq!(r.split.as_deref(), Some("val"));
    assert_eq!(r.extra["noun"], "plate");
    assert_eq!(r.extra["video_id"], "P01_11");
    for gone in ["verb", "narration_id", "start_timestamp", "stop_timestamp"] {
        assert!(!r.extra.contains_key(gone), "{gone}");
    }
    assert_eq!(a.rows[1].segment, seconds(62.35, 3723.5));
    assert_eq!(a.rows[1].extra["all_nouns"], "['plate', 'cup']");
    assert_eq!(a.classes, ["put", "take"]);

    let opts = AnnotationOptions {
        columns: columns(&[("label", "noun")]),
        ..Default::default()
    };
    let a = read(&path, &opts);
    assert_eq!(a.rows[1].labels, ["plate"]);
    assert_eq!(a.rows[1].extra["verb"], "put");
}

const CHARADES_HEADER_LINE: &str =
    "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length";

#[test]
fn charades_overlapping_actions_are_multi_label_rows() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{CHARADES_HEADER_LINE}\n\
         46GP8,HR43,Kitchen,6,7,Yes,\"A person cooks, then eats.\",food;stove,A person cooks.,c092 11.90 21.20;c147 0.00 12.60;c098 25.0 30.0,33.67\n\
         N11GT,P0MR,Stairs,6,7,Yes,Walks.,stairs,,,19.42\n\
         XYZ12,P0MR,Hall,6,7,Yes,Sits.,chair,,c010 0 5;c010 2 6,10\n"
    );
    let path = write(dir.path(), "Charades_v1_train.csv", text);
    write(
        dir.path(),
        "Charades_v1_classes.txt",
        "c010 Sitting in a chair\nc092 Cooking something\nc098 Eating something\nc147 Standing\n",
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Charades);
    assert_eq!(a.classes, ["c010", "c092", "c098", "c147"]);
    let got: Vec<(&str, Vec<&str>)> = a
        .rows
        .iter()
        .map(|r| {
            (
                r.row_id.as_str(),
                r.labels.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("46GP8#0", vec!["c092", "c147"]),
            ("46GP8#1", vec!["c147", "c092"]),
            ("46GP8#2", vec!["c098"]),
            ("XYZ12#0", vec!["c010"]),
            ("XYZ12#1", vec!["c010"]),
        ]
    );
    let r = &a.rows[0];
    assert_eq!(r.segment, seconds(11.9, 21.2));
    assert_eq!((r.line, r.video.as_str()), (2, "46GP8.mp4"));
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!(r.extra["script"], "A person cooks, then eats.");
    assert!(!r.extra.contains_key("actions"));
    assert_eq!(a.rows[3].line, 4);
}

#[test]
fn generic_csv_reads_the_columns_it_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "clips.csv",
        "path,cls,from,to,part,note\na/b.mp4,cat;dog,1.5,00:00:03,train,x\nc.mp4,,,,test,y\n",
    );
    let opts = AnnotationOptions {
        columns: columns(&[
            ("video", "path"),
            ("label", "cls"),
            ("start", "from"),
            ("end", "to"),
            ("split", "part"),
        ]),
        ..Default::default()
    };
    let a = read(&path, &opts);
    assert_eq!(a.format, Format::Csv);
    let r = &a.rows[0];
    assert_eq!(r.video, "a/b.mp4");
    assert_eq!(r.labels, ["cat", "dog"]);
    assert_eq!(r.segment, seconds(1.5, 3.0));
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!(r.row_id, "line 2");
    assert_eq!(r.extra, map(&[("note", "x")]));
    assert_eq!(a.rows[1].segment, None);
    assert!(a.rows[1].labels.is_empty());
    assert_eq!(a.classes, ["cat", "dog"]);

    let path = write(
        dir.path(),
        "frames.csv",
        "key,path,f0,f1,lbl\nk1,v1,10,20,a|b\n",
    );
    let opts = AnnotationOptions {
        format: Some(Format::Csv),
        columns: columns(&[
            ("video", "path"),
            ("label", "lbl"),
            ("start_frame", "f0"),
            ("end_frame", "f1"),
            ("id", "key"),
        ]),
        filename_pattern: Some("videos/{path}_{key}.mp4".into()),
        ..Default::default()
    };
    let a = read(&path, &opts);
    let r = &a.rows[0];
    assert_eq!(r.video, "videos/v1_k1.mp4");
    assert_eq!(
        r.segment,
        Some(Segment {
            start: TimeSpec::Frame(10),
            end: TimeSpec::Frame(20)
        })
    );
    assert_eq!(
        (r.row_id.as_str(), r.labels.clone()),
        ("k1", vec!["a".to_string(), "b".to_string()])
    );
    assert!(r.extra.is_empty());
}

#[test]
fn generic_csv_needs_columns_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "clips.csv", "path,cls\na.mp4,cat\n");
    let text = param_error(&path, &AnnotationOptions::default());
    assert!(
        text.contains("the format option") && text.contains("kinetics"),
        "{text}"
    );
    let opts = AnnotationOptions {
        format: Some(Format::Csv),
        ..Default::default()
    };
    let text = param_error(&path, &opts);
    assert!(text.contains("the columns option video="), "{text}");
    let opts = AnnotationOptions {
        columns: columns(&[("video", "path"), ("label", "nope")]),
        ..Default::default()
    };
    let text = annotation_error(&path, &opts, 1, "nope");
    assert!(text.contains("path, cls"), "{text}");
    let opts = AnnotationOptions {
        columns: columns(&[("video", "path"), ("colour", "cls")]),
        ..Default::default()
    };
    param_error(&path, &opts);
}

#[test]
fn jsonl_rows_with_defaults_and_mapped_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "items.jsonl",
        concat!(
            r#"{"video": "a.mp4", "start": 1.5, "end": "00:00:04", "labels": ["x", "y"], "split": "train", "id": 7, "fps": 30, "meta": {"k": 1}}"#,
            "\n\n",
            r#"{"video": "b.mp4", "start_frame": 5, "end_frame": 9, "label": "z"}"#,
            "\n",
            r#"{"video": "c.mp4", "label": null}"#,
            "\n"
        ),
    );
    let a = read(&path, &AnnotationOptions::default());
    assert_eq!(a.format, Format::Jsonl);
    let r = &a.rows[0];
    assert_eq!((r.line, r.row_id.as_str()), (1, "7"));
    assert_eq!(r.segment, seconds(1.5, 4.0));
    assert_eq!(r.labels, ["x", "y"]);
    assert_eq!(r.split.as_deref(), Some("train"));
    assert_eq!(r.extra, map(&[("fps", "30"), ("meta", r#"{"k":1}"#)]));
    let r = &a.rows[1];
    assert_eq!((r.line, r.row_id.as_str()), (3, "line 3"));
    assert_eq!(
        r.segment,
        Some(Segment {
            start: TimeSpec::Frame(5),
            end: TimeSpec::Frame(9)
        })
    );
    assert_eq!(r.labels, ["z"]);
    assert!(a.rows[2].labels.is_empty() && a.rows[2].segment.is_none());
    assert_eq!(a.classes, ["x", "y", "z"]);

    let path = write(dir.path(), "mapped.jsonl", r#"{"clip": "q", "cls": "w"}"#);
    let opts = AnnotationOptions {
        columns: columns(&[("video", "clip"), ("label", "cls")]),
        filename_pattern: Some("{video}.mp4".into()),
        ..Default::default()
    };
    let a = read(&path, &opts);
    assert_eq!(
        (a.rows[0].video.as_str(), a.rows[0].labels.clone()),
        ("q.mp4", vec!["w".to_string()])
    );
    assert!(a.rows[0].extra.is_empty());
}
