//! Fault injection: the next N matching requests answer a status, are delayed, or dropped.
//! Rules are checked when posted: unknown fields, statuses outside 200–599 and `times: 0`
//! are refused by name.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use thiserror::Error;

/// The statuses a `status` fault may answer.
pub const FAULT_STATUSES: RangeInclusive<u16> = 200..=599;

/// Whether `status` is answered without a body (and without `Content-Length` or
/// `Content-Type`): 204, 205 and 304 cannot carry HipChat's envelope.
pub fn is_bodyless(status: u16) -> bool {
    matches!(status, 204 | 205 | 304)
}

/// A fault rule that cannot do what it says.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FaultRuleError {
    /// The status is not a final HTTP status a server can answer with.
    #[error("`status` must be between 200 and 599, not {0}")]
    Status(u16),
    /// `times: 0` would never fire (and used to stay forever).
    #[error("`times` must be at least 1 (leave it out for once)")]
    Times,
}

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer this status (200–599) with HipChat's error envelope; 204, 205 and 304 are
    /// answered bare, with no body. A 429 with `reset_in` also refuses every request by the
    /// same token until the reset, as HipChat does.
    Status {
        /// HTTP status to answer.
        status: u16,
        /// Error message (default: the reason phrase).
        message: Option<String>,
        /// Seconds until `X-Ratelimit-Reset`.
        reset_in: Option<u64>,
    },
    /// Wait this long before handling the request normally.
    Delay {
        /// Milliseconds to wait.
        delay_ms: u64,
    },
    /// Close the connection without answering.
    Drop,
}

/// A fault rule as posted to `POST /_emulator/faults`; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Assigned id.
    #[serde(default)]
    pub id: u64,
    /// Only requests with this method (any if absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path starts with this (any if absent), e.g. `/v2/room/`.
    #[serde(default)]
    pub path: Option<String>,
    /// How many matching requests it affects (default 1, at least 1).
    #[serde(default = "one")]
    pub times: u32,
    /// What happens.
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// Checks that the rule can do what it says.
    pub fn check(&self) -> Result<(), FaultRuleError> {
        if self.times == 0 {
            return Err(FaultRuleError::Times);
        }
        match self.action {
            FaultAction::Status { status, .. } if !FAULT_STATUSES.contains(&status) => {
                Err(FaultRuleError::Status(status))
            }
            _ => Ok(()),
        }
    }

    /// Whether the rule applies to a request.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| path.starts_with(p))
    }
}

/// A rule that matched a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The matching rule's id.
    pub rule_id: u64,
    /// What to do to the request.
    pub action: FaultAction,
    /// Matches the rule has left (0: it was removed).
    pub remaining: u32,
}

/// Takes the first matching rule's action, counting it down and removing spent rules.
pub fn take_fault(rules: &mut Vec<FaultRule>, method: &str, path: &str) -> Option<Hit> {
    let idx = rules.iter().position(|r| r.matches(method, path))?;
    let rule = &mut rules[idx];
    rule.times -= 1;
    let hit = Hit {
        rule_id: rule.id,
        action: rule.action.clone(),
        remaining: rule.times,
    };
    if rule.times == 0 {
        rules.remove(idx);
    }
    Some(hit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_and_match_by_method_and_prefix() {
        let mut rules = vec![FaultRule {
            id: 1,
            method: Some("POST".into()),
            path: Some("/v2/room/".into()),
            times: 2,
            action: FaultAction::Drop,
        }];
        assert_eq!(take_fault(&mut rules, "GET", "/v2/room/1"), None);
        assert_eq!(
            take_fault(&mut rules, "post", "/v2/room/1/notification"),
            Some(Hit {
                rule_id: 1,
                action: FaultAction::Drop,
                remaining: 1
            })
        );
        assert!(take_fault(&mut rules, "POST", "/v2/room/2").is_some());
        assert!(rules.is_empty());
    }

    #[test]
    fn rules_that_cannot_do_what_they_say_are_refused() {
        let rule = |times, status| FaultRule {
            id: 0,
            method: None,
            path: None,
            times,
            action: FaultAction::Status {
                status,
                message: None,
                reset_in: None,
            },
        };
        assert_eq!(rule(1, 200).check(), Ok(()));
        assert_eq!(rule(1, 599).check(), Ok(()));
        assert_eq!(rule(1, 199).check(), Err(FaultRuleError::Status(199)));
        assert_eq!(rule(1, 600).check(), Err(FaultRuleError::Status(600)));
        assert_eq!(rule(0, 503).check(), Err(FaultRuleError::Times));
        assert!(is_bodyless(204) && is_bodyless(304) && !is_bodyless(200));
    }

    #[test]
    fn rule_json_is_documented_shape() {
        let r: FaultRule = serde_json::from_str(
            r#"{"path":"/v2/room","times":3,"action":{"status":{"status":429,"reset_in":2}}}"#,
        )
        .unwrap();
        assert_eq!(r.times, 3);
        assert!(matches!(
            r.action,
            FaultAction::Status {
                status: 429,
                reset_in: Some(2),
                ..
            }
        ));
    }
}
