//! Text for people about jobs and previews, shared by `sync`, `run-job` and `jobs`.

use syncdesk_engine::model::{JobStatus, PushMode, SyncJob, SyncJobStats, SyncPreview};

use crate::exit::Exit;
use crate::output;

/// Paths listed per category of a preview; the counts are always complete.
const PREVIEW_LIMIT: usize = 50;

/// One line per job, plus the reason when it did not succeed.
pub fn jobs(jobs: &[SyncJob]) -> String {
    let mut out = String::new();
    for job in jobs {
        out.push_str(&format!(
            "{}: {} (job {}): {}, {} in {}\n",
            job.folder,
            job.status,
            job.id,
            counts(&job.stats),
            traffic(&job.stats),
            output::duration_ms(job.stats.duration_ms)
        ));
        let why = job.error_message.as_deref().unwrap_or_default();
        match job.status {
            JobStatus::NeedsConfirmation => {
                out.push_str(&format!("  {why}\n  re-run with --yes to go ahead\n"));
            }
            JobStatus::Failed | JobStatus::Cancelled if !why.is_empty() => {
                out.push_str(&format!("  error: {why}\n"));
            }
            _ => {}
        }
    }
    out
}

pub fn counts(s: &SyncJobStats) -> String {
    format!(
        "{} uploaded, {} downloaded, {} deleted, {}",
        s.files_uploaded,
        s.files_downloaded,
        s.files_deleted,
        output::count(s.conflicts, "conflict", "conflicts")
    )
}

pub fn traffic(s: &SyncJobStats) -> String {
    format!(
        "{} up, {} down",
        output::bytes(s.bytes_uploaded),
        output::bytes(s.bytes_downloaded)
    )
}

/// The exit code for a set of finished jobs: failures first, then confirmations.
pub fn exit_for(jobs: &[SyncJob]) -> Exit {
    let any = |s: &[JobStatus]| jobs.iter().any(|j| s.contains(&j.status));
    if any(&[JobStatus::Failed, JobStatus::Cancelled]) {
        Exit::JobFailed
    } else if any(&[JobStatus::NeedsConfirmation]) {
        Exit::NeedsConfirmation
    } else {
        Exit::Ok
    }
}

pub fn mode_name(mode: PushMode) -> &'static str {
    match mode {
        PushMode::TwoWay => "two-way sync",
        PushMode::ForcePush => "force-push",
        PushMode::ForcePull => "force-pull",
    }
}

/// Counts, then the paths of each non-empty category.
pub fn previews(previews: &[SyncPreview]) -> String {
    let mut out = String::new();
    for p in previews {
        let lists: [(&str, &Vec<String>); 6] = [
            ("to upload", &p.upload),
            ("to download", &p.download),
            (
                "to replace locally (old versions go to the trash)",
                &p.replace,
            ),
            ("to delete locally (to the trash)", &p.delete_local),
            (
                "to delete on the remote (kept in history)",
                &p.delete_remote,
            ),
            (
                "conflicts (the other version is kept as a copy)",
                &p.conflicts,
            ),
        ];
        out.push_str(&format!(
            "{} ({}): {} to upload, {} to download, {} to replace, {} to delete locally, {} to delete remotely, {}\n",
            p.folder,
            mode_name(p.mode),
            p.upload.len(),
            p.download.len(),
            p.replace.len(),
            p.delete_local.len(),
            p.delete_remote.len(),
            output::count(p.conflicts.len() as u64, "conflict", "conflicts"),
        ));
        if lists.iter().all(|(_, l)| l.is_empty()) {
            out.push_str("  nothing to do\n");
        }
        for (title, list) in lists.iter().filter(|(_, l)| !l.is_empty()) {
            out.push_str(&format!("  {title}:\n"));
            for path in list.iter().take(PREVIEW_LIMIT) {
                out.push_str(&format!("    {path}\n"));
            }
            if list.len() > PREVIEW_LIMIT {
                out.push_str(&format!("    … and {} more\n", list.len() - PREVIEW_LIMIT));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_preview_lists_are_cut_but_counted() {
        let p = SyncPreview {
            folder: "docs".into(),
            upload: (0..60).map(|i| format!("f{i}")).collect(),
            ..Default::default()
        };
        let text = previews(&[p]);
        assert!(text.starts_with("docs (two-way sync): 60 to upload,"));
        assert!(text.contains("    f49\n"));
        assert!(!text.contains("    f50\n"));
        assert!(text.contains("… and 10 more"));
    }
}
