use super::*;
use crate::fixtures::reference_build;
use serde_json::json;

fn finished(results: i64) -> Build {
    let mut v = reference_build();
    v["results"] = json!(results);
    Build::from_value(v).unwrap()
}

/// The result codes 0–6 a generator reports for a finished build.
fn reported(generator: &Generator, prev: Option<PrevBuild>) -> Vec<i64> {
    (0..=6)
        .filter(|&r| generator.wants(&finished(r), Event::Finished, prev))
        .collect()
}

fn with_modes(modes: Modes) -> Generator {
    Generator {
        modes,
        filters: Filters::default(),
        report_new: true,
    }
}

fn prev(results: i64) -> Option<PrevBuild> {
    Some(PrevBuild {
        number: Some(1),
        results: Some(results),
    })
}

#[test]
fn each_mode_against_each_result_code() {
    let cases: [(&str, Vec<i64>); 7] = [
        ("failing", vec![2]),
        ("passing", vec![0]),
        ("warnings", vec![1]),
        ("exception", vec![4]),
        ("cancelled", vec![6]),
        ("problem", vec![]),
        ("change", vec![]),
    ];
    for (mode, expected) in cases {
        let list = with_modes(Modes::from_list(&[mode]).unwrap());
        assert_eq!(
            reported(&list, None),
            expected,
            "list [{mode}], no previous build"
        );
    }
}

#[test]
fn string_forms_are_buildbots_shortcuts() {
    let all = with_modes(Modes::from_name("all").unwrap());
    assert_eq!(
        reported(&all, None),
        [0, 1, 2, 4, 6],
        "skipped and retry never"
    );
    let warnings = with_modes(Modes::from_name("warnings").unwrap());
    assert_eq!(
        reported(&warnings, None),
        [1, 2],
        "the string means failing too"
    );
    let listed = with_modes(Modes::from_list(&["warnings"]).unwrap());
    assert_eq!(reported(&listed, None), [1], "the list means warnings only");
    for single in ["failing", "passing", "exception", "cancelled"] {
        assert_eq!(
            Modes::from_name(single).unwrap(),
            Modes::from_list(&[single]).unwrap()
        );
    }
    let several = with_modes(Modes::from_list(&["failing", "exception"]).unwrap());
    assert_eq!(reported(&several, None), [2, 4]);
    assert_eq!(
        reported(&with_modes(Modes::Every), None),
        [0, 1, 2, 3, 4, 5, 6]
    );
}

#[test]
fn previous_build_modes() {
    let problem = with_modes(Modes::from_name("problem").unwrap());
    assert!(problem.needs_previous(Event::Finished));
    assert!(!problem.needs_previous(Event::Started));
    assert_eq!(reported(&problem, None), Vec::<i64>::new());
    for p in [0, 1, 3, 4, 5, 6] {
        assert_eq!(reported(&problem, prev(p)), [2], "previous {p}");
    }
    assert_eq!(
        reported(&problem, prev(2)),
        Vec::<i64>::new(),
        "still failing"
    );
    let change = with_modes(Modes::from_name("change").unwrap());
    for p in 0..=6 {
        let expected: Vec<i64> = (0..=6).filter(|&r| r != p).collect();
        assert_eq!(reported(&change, prev(p)), expected, "previous {p}");
    }
    let unfinished = Some(PrevBuild {
        number: None,
        results: None,
    });
    assert_eq!(reported(&change, unfinished), [0, 1, 2, 3, 4, 5, 6]);
    assert!(!with_modes(Modes::from_name("all").unwrap()).needs_previous(Event::Finished));
}

#[test]
fn mode_errors_are_buildbots() {
    assert_eq!(
        Modes::from_name("sometimes").unwrap_err().to_string(),
        "mode sometimes is not a valid mode"
    );
    assert_eq!(
        Modes::from_list(&["failing", "all"])
            .unwrap_err()
            .to_string(),
        "mode 'all' is not valid in an iterator and must be passed in as a separate string"
    );
    assert_eq!(
        Modes::from_list(&["bogus"]).unwrap_err().to_string(),
        "mode bogus is not a valid mode"
    );
}

#[test]
fn report_new_and_started_events_skip_the_mode_check() {
    let mut started = reference_build();
    started["complete"] = json!(false);
    started["results"] = json!(null);
    let started = Build::from_value(started).unwrap();
    let g = with_modes(Modes::from_list(&["failing"]).unwrap());
    assert!(g.wants(&started, Event::Started, None));
    let quiet = Generator {
        report_new: false,
        ..g
    };
    assert!(!quiet.wants(&started, Event::Started, None));
    assert!(quiet.wants(&finished(2), Event::Finished, None));
}

fn filtered(filters: Filters) -> Generator {
    Generator {
        modes: Modes::Every,
        filters,
        report_new: true,
    }
}

fn names(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn each_filter() {
    let b = finished(0); // Builder0, scheduler "checkin", branch "main", no tags
    let mut tagged = reference_build();
    tagged["builder"]["tags"] = json!(["nightly", "linux"]);
    let tagged = Build::from_value(tagged).unwrap();
    let pass = |f: Filters, build: &Build| {
        filtered(f.clone()).wants(build, Event::Finished, None)
            && filtered(f).wants(build, Event::Started, None)
    };
    assert!(pass(Filters::default(), &b));
    let builders = |v: &[&str]| Filters {
        builders: names(v),
        ..Filters::default()
    };
    assert!(pass(builders(&["Builder0", "x"]), &b));
    assert!(!pass(builders(&["builder0"]), &b), "exact names");
    let tags = |v: &[&str]| Filters {
        tags: names(v),
        ..Filters::default()
    };
    assert!(pass(tags(&["linux"]), &tagged));
    assert!(!pass(tags(&["windows"]), &tagged));
    assert!(!pass(tags(&["linux"]), &b), "no tags");
    let schedulers = |v: &[&str]| Filters {
        schedulers: names(v),
        ..Filters::default()
    };
    assert!(pass(schedulers(&["checkin"]), &b));
    assert!(!pass(schedulers(&["nightly"]), &b));
    let branches = |v: &[&str]| Filters {
        branches: names(v),
        ..Filters::default()
    };
    assert!(pass(branches(&["main"]), &b), "the branch property");
    assert!(
        !pass(branches(&["master"]), &b),
        "not the sourcestamp's branch"
    );
    let both = Filters {
        builders: names(&["Builder0"]),
        branches: names(&["dev"]),
        ..Filters::default()
    };
    assert!(!pass(both, &b), "filters are ANDed");
}
