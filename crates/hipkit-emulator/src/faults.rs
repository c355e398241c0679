//! Fault injection: the next N matching requests answer a status, are delayed, or dropped.

use serde::{Deserialize, Serialize};

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer this status with HipChat's error envelope; a 429 with `reset_in` also refuses
    /// every request by the same token until the reset, as HipChat does.
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

/// A fault rule as posted to `POST /_emulator/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// How many matching requests it affects (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// What happens.
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl FaultRule {
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
