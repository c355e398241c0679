//! Test fixtures shared by the unit tests.

use serde_json::{Value, json};

/// The reference's finished FAILURE build (section 5), as HttpStatusPush sends it.
pub fn reference_build() -> Value {
    json!({"buildid": 20, "number": 0, "builderid": 79, "buildrequestid": 11, "workerid": 13,
        "masterid": 92, "started_at": 10000001, "complete_at": 10000005, "complete": true,
        "locks_duration_s": 0, "state_string": "build failed", "results": 2,
        "properties": {"scheduler": ["checkin", "Scheduler"], "branch": ["main", "Build"]},
        "url": "http://localhost:8080/#/builders/79/builds/0",
        "builder": {"builderid": 79, "name": "Builder0", "masterids": [], "description": null,
            "description_format": null, "description_html": null, "projectid": null, "tags": []},
        "buildrequest": {"buildrequestid": 11, "buildsetid": 98, "builderid": 79, "priority": 0,
            "claimed": false, "claimed_at": null, "claimed_by_masterid": null, "complete": false,
            "complete_at": null, "results": -1, "submitted_at": 12345678, "waited_for": false,
            "properties": null},
        "buildset": {"bsid": 98, "external_idstring": "extid", "reason": "testReason1",
            "submitted_at": 12345678, "complete": false, "complete_at": null, "results": 2,
            "parent_buildid": null, "parent_relationship": null, "rebuilt_buildid": null,
            "sourcestamps": [{"ssid": 234, "branch": "master", "codebase": "cbgerrit",
                "project": "testProject", "repository": "https://example.org/repo",
                "revision": "d34db33fd43db33f", "created_at": 89834834, "patch": null}]},
        "parentbuild": null, "parentbuilder": null})
}
