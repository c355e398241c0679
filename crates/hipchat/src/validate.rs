//! Validation of request bodies against HipChat's documented limits, before any request.

use thiserror::Error;

/// A request field broke one of HipChat's limits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid `{field}`: {problem}")]
pub struct ValidationError {
    /// The JSON field name, e.g. `message` or `card.title`.
    pub field: String,
    /// What is wrong, naming the limit.
    pub problem: String,
}

impl ValidationError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Something that can check itself before it is sent (or, in the emulator, accepted).
pub trait Validate {
    /// Returns the first limit this value breaks.
    fn validate(&self) -> Result<(), ValidationError>;
}

/// Checks that `value` has between `min` and `max` characters (Unicode scalar values).
pub fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ValidationError::new(
            field,
            format!("length must be between {min} and {max} characters (got {n})"),
        ));
    }
    Ok(())
}

/// Like [`length`] for an optional field: absent is fine.
pub fn optional_length(
    field: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| length(field, v, min, max))
}

/// Checks that `value` is an absolute http(s) URL.
pub fn http_url(field: &str, value: &str) -> Result<(), ValidationError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(ValidationError::new(
            field,
            "must be an absolute http or https URL",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(length("m", "ééé", 1, 3).is_ok());
        let err = length("message", "", 1, 10_000).unwrap_err();
        assert_eq!(err.field, "message");
        assert!(err.to_string().contains("between 1 and 10000"));
    }
}
