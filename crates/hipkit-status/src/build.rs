//! The build as Buildbot's HttpStatusPush sends it: the data API's build dict plus `url`,
//! `builder`, `buildset`, `buildrequest` and, when wanted, `properties`, `steps` and
//! `prev_build`. Kept as the JSON object it arrived as (every key, every null, in order), with
//! typed reads of the few fields reporters decide on. Differences between Buildbot versions
//! (missing `locks_duration_s`, `parentbuild`, the old `#builders/...` URLs) are tolerated.

use crate::Event;
use bytes::Bytes;
use serde_json::{Map, Value};

/// A build dict whose decision fields have the right shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    dict: Map<String, Value>,
    /// The JSON text it was parsed from, sent as is by the HTTP reporter.
    raw: Option<Bytes>,
}

/// Why a JSON value is not a build, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Not JSON at all.
    #[error("the build is not valid JSON: {0}")]
    Syntax(#[source] serde_json::Error),
    /// A field is missing or has the wrong type.
    #[error("{field}: {problem}")]
    Field {
        /// The field's dotted path, e.g. `builder.name`.
        field: String,
        /// What is wrong, e.g. `must be a string`.
        problem: &'static str,
    },
}

impl BuildError {
    fn field(field: &str, problem: &'static str) -> Self {
        Self::Field {
            field: field.to_owned(),
            problem,
        }
    }

    /// The offending field, when the JSON parsed.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            Self::Syntax(_) => None,
            Self::Field { field, .. } => Some(field),
        }
    }
}

/// What Buildbot knew of the previous build: its number and result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrevBuild {
    /// Its number, when given.
    pub number: Option<i64>,
    /// Its result code (`None`: not finished).
    pub results: Option<i64>,
}

/// Whether the sender told us about the previous build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrevBuildField {
    /// No `prev_build` key: the sender did not look.
    Absent,
    /// `prev_build: null`: there is none.
    None,
    /// `prev_build: {...}`.
    Some(PrevBuild),
}

fn is_int_or_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null)) || v.is_some_and(|v| v.as_i64().is_some())
}

fn check_int(dict: &Map<String, Value>, prefix: &str, key: &str) -> Result<(), BuildError> {
    if is_int_or_null(dict.get(key)) {
        Ok(())
    } else {
        Err(BuildError::field(
            &format!("{prefix}{key}"),
            "must be an integer or null",
        ))
    }
}

fn check_optional(
    dict: &Map<String, Value>,
    key: &str,
    ok: fn(&Value) -> bool,
    problem: &'static str,
) -> Result<(), BuildError> {
    match dict.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if ok(v) => Ok(()),
        Some(_) => Err(BuildError::field(key, problem)),
    }
}

impl Build {
    /// Checks the shape of the fields reporters read; keeps everything else as given.
    pub fn from_value(value: Value) -> Result<Self, BuildError> {
        let Value::Object(dict) = value else {
            return Err(BuildError::field("build", "must be a JSON object"));
        };
        let builder = match dict.get("builder") {
            Some(Value::Object(b)) => b,
            None | Some(Value::Null) => return Err(BuildError::field("builder", "is missing")),
            Some(_) => return Err(BuildError::field("builder", "must be an object")),
        };
        match builder.get("name") {
            Some(Value::String(_)) => {}
            None | Some(Value::Null) => {
                return Err(BuildError::field("builder.name", "is missing"));
            }
            Some(_) => return Err(BuildError::field("builder.name", "must be a string")),
        }
        match builder.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(tags)) if tags.iter().all(Value::is_string) => {}
            Some(_) => {
                return Err(BuildError::field(
                    "builder.tags",
                    "must be a list of strings",
                ));
            }
        }
        for key in ["results", "number", "buildid", "builderid"] {
            check_int(&dict, "", key)?;
        }
        check_optional(&dict, "complete", Value::is_boolean, "must be a boolean")?;
        check_optional(&dict, "url", Value::is_string, "must be a string")?;
        check_optional(&dict, "properties", Value::is_object, "must be an object")?;
        check_optional(&dict, "steps", Value::is_array, "must be a list")?;
        match dict.get("prev_build") {
            None | Some(Value::Null) => {}
            Some(Value::Object(prev)) => {
                check_int(prev, "prev_build.", "results")?;
                check_int(prev, "prev_build.", "number")?;
            }
            Some(_) => {
                return Err(BuildError::field("prev_build", "must be an object or null"));
            }
        }
        Ok(Self { dict, raw: None })
    }

    /// Parses JSON text (a request body, a file) into a build.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BuildError> {
        let value: Value = serde_json::from_slice(bytes).map_err(BuildError::Syntax)?;
        let mut build = Self::from_value(value)?;
        build.raw = Some(Bytes::copy_from_slice(bytes));
        Ok(build)
    }

    /// The build as JSON text: byte for byte what it was parsed from, when it was parsed
    /// from text (key order, spacing and number forms kept).
    pub fn json_bytes(&self) -> Bytes {
        match &self.raw {
            Some(raw) => raw.clone(),
            None => Bytes::from(Value::Object(self.dict.clone()).to_string()),
        }
    }

    /// The dict exactly as it arrived.
    pub fn dict(&self) -> &Map<String, Value> {
        &self.dict
    }

    /// The dict exactly as it arrived, as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.dict.clone())
    }

    /// `builder.name`.
    pub fn builder_name(&self) -> &str {
        self.dict
            .get("builder")
            .and_then(|b| b.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `builder.tags` (none when absent).
    pub fn builder_tags(&self) -> impl Iterator<Item = &str> {
        self.dict
            .get("builder")
            .and_then(|b| b.get("tags"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }

    /// `url` (empty when absent).
    pub fn url(&self) -> &str {
        self.dict
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The build number.
    pub fn number(&self) -> Option<i64> {
        self.dict.get("number").and_then(Value::as_i64)
    }

    /// The result code (`None` while running).
    pub fn results(&self) -> Option<i64> {
        self.dict.get("results").and_then(Value::as_i64)
    }

    /// `complete`, or (older senders) whether `complete_at` is set.
    pub fn complete(&self) -> bool {
        match self.dict.get("complete").and_then(Value::as_bool) {
            Some(complete) => complete,
            None => !matches!(self.dict.get("complete_at"), None | Some(Value::Null)),
        }
    }

    /// The event this build dict reports, as Buildbot derives it from `complete`.
    pub fn event(&self) -> Event {
        if self.complete() {
            Event::Finished
        } else {
            Event::Started
        }
    }

    /// A property's value: `properties[name][0]` for Buildbot's `[value, source]` pairs,
    /// the value itself otherwise.
    pub fn property(&self, name: &str) -> Option<&Value> {
        let raw = self.dict.get("properties")?.get(name)?;
        match raw {
            Value::Array(pair) => pair.first(),
            other => Some(other),
        }
    }

    /// What `prev_build` says, if the sender included it.
    pub fn prev_build(&self) -> PrevBuildField {
        match self.dict.get("prev_build") {
            None => PrevBuildField::Absent,
            Some(Value::Object(prev)) => PrevBuildField::Some(PrevBuild {
                number: prev.get("number").and_then(Value::as_i64),
                results: prev.get("results").and_then(Value::as_i64),
            }),
            Some(_) => PrevBuildField::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::reference_build;
    use serde_json::json;

    #[test]
    fn reads_the_reference_build_and_keeps_it_whole() {
        let value = reference_build();
        let build = Build::from_value(value.clone()).unwrap();
        assert_eq!(build.to_value(), value, "every key and null kept");
        assert_eq!(build.builder_name(), "Builder0");
        assert_eq!(build.url(), "http://localhost:8080/#/builders/79/builds/0");
        assert_eq!((build.number(), build.results()), (Some(0), Some(2)));
        assert_eq!(build.event(), Event::Finished);
        assert_eq!(build.property("branch"), Some(&json!("main")));
        assert_eq!(build.property("scheduler"), Some(&json!("checkin")));
        assert_eq!(build.property("nope"), None);
        assert_eq!(build.prev_build(), PrevBuildField::Absent);
    }

    #[test]
    fn tolerates_older_senders() {
        // 2.x: no locks_duration_s, no parentbuild, no `complete`, old URL form, extra keys.
        let build = Build::from_value(json!({
            "builder": {"name": "b"}, "number": 3, "results": null, "complete_at": null,
            "url": "http://m/#builders/1/builds/3", "something_new": {"x": 1},
        }))
        .unwrap();
        assert_eq!(build.event(), Event::Started);
        assert_eq!(build.results(), None);
        assert_eq!(build.dict()["something_new"], json!({"x": 1}));
        let done = Build::from_value(json!({"builder": {"name": "b"}, "complete_at": 5})).unwrap();
        assert_eq!(done.event(), Event::Finished);
        assert_eq!(done.url(), "");
    }

    #[test]
    fn prev_build_forms() {
        let mut v = reference_build();
        v["prev_build"] = json!(null);
        assert_eq!(
            Build::from_value(v.clone()).unwrap().prev_build(),
            PrevBuildField::None
        );
        v["prev_build"] = json!({"number": 7, "results": 0});
        assert_eq!(
            Build::from_value(v).unwrap().prev_build(),
            PrevBuildField::Some(PrevBuild {
                number: Some(7),
                results: Some(0)
            })
        );
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let cases = [
            (json!([1]), "build"),
            (json!({}), "builder"),
            (json!({"builder": "b"}), "builder"),
            (json!({"builder": {}}), "builder.name"),
            (json!({"builder": {"name": 5}}), "builder.name"),
            (
                json!({"builder": {"name": "b", "tags": "t"}}),
                "builder.tags",
            ),
            (
                json!({"builder": {"name": "b"}, "results": "failure"}),
                "results",
            ),
            (
                json!({"builder": {"name": "b"}, "complete": "yes"}),
                "complete",
            ),
            (json!({"builder": {"name": "b"}, "url": 1}), "url"),
            (
                json!({"builder": {"name": "b"}, "properties": []}),
                "properties",
            ),
            (
                json!({"builder": {"name": "b"}, "prev_build": 1}),
                "prev_build",
            ),
            (
                json!({"builder": {"name": "b"}, "prev_build": {"results": "x"}}),
                "prev_build.results",
            ),
        ];
        for (value, field) in cases {
            let err = Build::from_value(value.clone()).unwrap_err();
            assert_eq!(err.field_name(), Some(field), "{value}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
        let text = br#"{"z": 1,  "builder": {"name": "b"}, "a": 1.50}"#;
        assert_eq!(Build::from_json(text).unwrap().json_bytes(), &text[..]);
        assert!(matches!(
            Build::from_json(b"{nope"),
            Err(BuildError::Syntax(_))
        ));
    }
}
