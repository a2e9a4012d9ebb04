//! `info`: the getSyncInfo shape.

use anyhow::Result;
use syncdesk_engine::model::{FolderInfo, Progress};

use super::Ctx;
use crate::exit::Exit;
use crate::output::{self, Table};

pub fn run(ctx: &Ctx) -> Result<Exit> {
    let info = ctx.engine.get_sync_info()?;
    if ctx.json {
        output::json(&info)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "provider: {}  repository: {}  enabled: {}  syncing: {}\n",
        info.provider_name,
        info.cloud_name,
        yes_no(info.enabled),
        if info.syncing {
            state(&info.progress)
        } else {
            "no".into()
        }
    );
    if info.folders.is_empty() {
        text.push_str("no folders; add one with `syncdesk-cli folder add`\n");
    } else {
        text.push('\n');
        text.push_str(&table(&info.folders));
    }
    output::print(&text)?;
    Ok(Exit::Ok)
}

fn table(folders: &[FolderInfo]) -> String {
    let mut t = Table::new(&[
        "NAME",
        "PATH",
        "REMOTE",
        "REPOSITORY",
        "ENABLED",
        "STATE",
        "LAST SYNC",
        "LAST JOB",
    ]);
    for f in folders {
        t.row(vec![
            f.name.clone(),
            f.path.display().to_string(),
            f.remote.clone(),
            f.cloud_name.clone(),
            yes_no(f.enabled).into(),
            if f.syncing {
                state(&f.progress)
            } else {
                "idle".into()
            },
            output::or_dash(f.last_sync_at.as_deref()),
            f.last_job
                .as_ref()
                .map_or_else(|| "-".into(), |j| format!("#{} {}", j.id, j.status)),
        ]);
    }
    t.render()
}

fn state(p: &Progress) -> String {
    if p.total > 0 {
        format!("{} {}/{} ({:.1}%)", p.info, p.current, p.total, p.percent)
    } else {
        p.info.clone()
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
