use docent::Stat;

use super::*;

fn node(path: &str, data: &str, czxid: i64, mzxid: i64, version: i32) -> (String, ChildData) {
    let stat = Stat {
        czxid,
        mzxid,
        version,
        ..Stat::default()
    };
    let d = ChildData {
        path: path.to_owned(),
        stat,
        data: Some(data.as_bytes().to_vec()),
    };
    (path.to_owned(), d)
}

#[test]
fn equal_views_pass() {
    let truth: BTreeMap<_, _> = [node("/a", "1", 2, 2, 0)].into();
    assert!(diff(&truth, &truth).is_empty());
    assert_eq!(check_view(&truth, &truth), Ok(()));
}

#[test]
fn missing_extra_and_stale_are_named_with_their_versions() {
    let truth: BTreeMap<_, _> = [
        node("/a", "1", 2, 2, 0),
        node("/b", "new", 3, 9, 4),
        node("/c", "x", 5, 5, 0),
    ]
    .into();
    let view: BTreeMap<_, _> = [node("/b", "old", 3, 7, 3), node("/d", "y", 6, 6, 0)].into();
    let d = diff(&view, &truth);
    assert_eq!(d.missing.len(), 2);
    assert_eq!(d.extra.len(), 1);
    assert_eq!(d.stale.len(), 1);
    let err = check_view(&view, &truth).unwrap_err();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].starts_with("missing /a: data \"1\" czxid 0x2"),
        "{err}"
    );
    assert!(lines[1].starts_with("missing /c: data \"x\""), "{err}");
    assert!(
        lines[2].starts_with("extra /d: data \"y\" czxid 0x6"),
        "{err}"
    );
    assert!(
        lines[3].starts_with("stale /b: shows data \"old\" czxid 0x3 mzxid 0x7"),
        "{err}"
    );
    assert!(lines[3].contains("version 3"), "{err}");
    assert!(
        lines[3].contains("truth data \"new\" czxid 0x3 mzxid 0x9 pzxid 0x0 version 4"),
        "{err}"
    );
}

#[test]
fn a_recreated_node_is_stale_even_with_the_same_data_and_version() {
    let truth: BTreeMap<_, _> = [node("/a", "1", 8, 8, 0)].into();
    let view: BTreeMap<_, _> = [node("/a", "1", 2, 2, 0)].into();
    assert_eq!(diff(&view, &truth).stale.len(), 1);
}

#[test]
fn stat_only_views_compare_against_a_truth_without_data() {
    let truth: BTreeMap<_, _> = [node("/a", "1", 2, 2, 0)].into();
    let stat_only = without_data(truth.clone());
    assert!(stat_only["/a"].data.is_none());
    assert_eq!(check_view(&stat_only, &without_data(truth.clone())), Ok(()));
    // A cache told to keep data that shows none is stale.
    assert!(check_view(&stat_only, &truth).is_err());
    // And one that shows data while told to keep none.
    assert!(check_view(&truth, &stat_only).is_err());
}

#[test]
fn member_maps_and_sets() {
    let truth: BTreeMap<String, Vec<u8>> = [("a".into(), b"a-2".to_vec())].into();
    let view: BTreeMap<String, Vec<u8>> = [("a".into(), b"a-1".to_vec())].into();
    assert_eq!(
        check_view(&view, &truth),
        Err("stale a: shows \"a-1\", truth \"a-2\"".into())
    );
    let set = |xs: &[&str]| -> BTreeSet<String> { xs.iter().map(|x| x.to_string()).collect() };
    assert_eq!(check_set(&set(&["a", "b"]), &set(&["a", "b"])), Ok(()));
    assert_eq!(
        check_set(&set(&["a", "c"]), &set(&["a", "b"])),
        Err("missing b\nextra c".into())
    );
}
