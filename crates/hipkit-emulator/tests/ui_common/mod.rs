//! The emulator the web UI's test files share: the rooms Ops (id 1) and Build Room (id 2) and
//! the user bob, with the kit's all-scopes token.

use hipkit_emulator::EmulatorConfig;
use hipkit_testkit::{Emulator, EmulatorBuilder};

/// That emulator, with `config`'s other settings.
pub async fn emulator(config: EmulatorConfig) -> Emulator {
    EmulatorBuilder::from_config(config)
        .rooms(&["Ops", "Build Room"])
        .users(&["bob@example.com"])
        .start()
        .await
}
