//! `snapshots`, `files`, `restore`, `check`.

use anyhow::Result;
use syncdesk_engine::history::{CheckReport, FileInfo, SnapshotInfo};

use super::Ctx;
use crate::args::{FilesArgs, RestoreArgs};
use crate::exit::Exit;
use crate::output::{self, Table};

/// Snapshot ids are 64 hex digits; this many tell them apart in practice, and any unique
/// prefix of 4 or more is accepted back.
const SHORT_ID: usize = 12;

pub fn snapshots(ctx: &Ctx, folder: &str) -> Result<Exit> {
    let list = ctx.engine.snapshots(folder)?;
    if ctx.json {
        output::json(&list)?;
    } else if list.is_empty() {
        output::print(&format!(
            "no snapshots yet; `syncdesk-cli sync --folder {folder}` makes one\n"
        ))?;
    } else {
        output::print(&snapshot_table(&list))?;
    }
    Ok(Exit::Ok)
}

fn short(id: &str) -> &str {
    id.get(..SHORT_ID).unwrap_or(id)
}

fn snapshot_table(list: &[SnapshotInfo]) -> String {
    let mut t = Table::new(&["ID", "CREATED", "DEVICE", ">FILES", ">SIZE", "HEAD OF"]);
    for s in list {
        t.row(vec![
            short(&s.id).to_owned(),
            s.created_at.clone(),
            s.device.clone(),
            s.files.to_string(),
            output::bytes(s.bytes),
            if s.head_of.is_empty() {
                "-".into()
            } else {
                s.head_of.join(", ")
            },
        ]);
    }
    t.render()
}

pub fn files(ctx: &Ctx, args: &FilesArgs) -> Result<Exit> {
    let list = ctx
        .engine
        .snapshot_files(&args.folder, &args.snapshot, &args.path)?;
    if ctx.json {
        output::json(&list)?;
    } else if list.is_empty() {
        output::print("empty directory\n")?;
    } else {
        output::print(&files_table(&list))?;
    }
    Ok(Exit::Ok)
}

fn files_table(list: &[FileInfo]) -> String {
    let mut t = Table::new(&["KIND", ">SIZE", "MODIFIED", "NAME"]);
    for f in list {
        let is_dir = f.kind == "dir";
        t.row(vec![
            f.kind.clone(),
            if is_dir {
                "-".into()
            } else {
                output::bytes(f.size)
            },
            output::time_ns(f.mtime_ns),
            if is_dir {
                format!("{}/", f.name)
            } else {
                f.name.clone()
            },
        ]);
    }
    t.render()
}

pub fn restore(ctx: &Ctx, args: &RestoreArgs) -> Result<Exit> {
    let report = ctx
        .engine
        .restore(&args.folder, &args.snapshot, &args.path, &args.to)?;
    if ctx.json {
        output::json(&report)?;
    } else {
        output::print(&format!(
            "restored {} ({}) to {}\n",
            output::count(report.files, "file", "files"),
            output::bytes(report.bytes),
            report.target
        ))?;
    }
    Ok(Exit::Ok)
}

pub fn check(ctx: &Ctx, folder: &str) -> Result<Exit> {
    let report = ctx.engine.check(folder)?;
    if ctx.json {
        output::json(&report)?;
    } else {
        output::print(&check_text(&report))?;
    }
    Ok(if report.ok() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

fn check_text(r: &CheckReport) -> String {
    let mut out = format!(
        "checked {}, {}, {} in {} ({} unreferenced, harmless)\n",
        output::count(r.snapshots, "snapshot", "snapshots"),
        output::count(r.trees, "tree", "trees"),
        output::count(r.blobs, "blob", "blobs"),
        output::count(r.packs, "pack", "packs"),
        r.unreferenced_packs
    );
    if r.ok() {
        out.push_str("no problems found\n");
    } else {
        out.push_str(&format!(
            "{}:\n",
            output::count(r.errors.len() as u64, "problem", "problems")
        ));
        for e in &r.errors {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}
