//! First run: with no folder configured, a sample folder synced to a local repository, so
//! the app shows something working at once.

use std::path::Path;

use anyhow::Context as _;
use syncdesk_engine::Engine;

const SAMPLE_NAME: &str = "Syncdesk";
const WELCOME: &str = "Welcome to Syncdesk!\n\n\
Files you put in this folder are kept in sync with its repository.\n\
Add more folders, or point this one at another remote, in Settings.\n";

pub fn ensure_sample_folder(engine: &Engine, default_remote: &Path) -> anyhow::Result<()> {
    if !engine.folders()?.is_empty() {
        return Ok(());
    }
    let home =
        std::env::var_os("HOME").context("HOME is not set: cannot create the sample folder")?;
    let folder = Path::new(&home).join(SAMPLE_NAME);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let welcome = folder.join("Welcome.txt");
    if !welcome.exists() {
        std::fs::write(&welcome, WELCOME)
            .with_context(|| format!("cannot write {}", welcome.display()))?;
    }
    engine.add_folder(
        SAMPLE_NAME,
        &folder,
        &default_remote.display().to_string(),
        None,
    )?;
    tracing::info!("created the sample folder {}", folder.display());
    Ok(())
}
