//! `panoptic replay`: deliver the spool to MongoDB now, with a progress
//! bar.

use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use panoptic::{Panoptic, Spool};

use crate::options::{Global, connect};

/// `panoptic replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub deadline: u64,
    /// First put back the segments set aside (unreadable bytes, a
    /// collection MongoDB refused) to try them again.
    #[arg(long)]
    pub retry_set_aside: bool,
}

/// Runs `panoptic replay`.
pub async fn run(global: &Global, args: &ReplayArgs) -> Result<(), String> {
    let spool = Spool::open(&global.spool_dir);
    if args.retry_set_aside {
        let restored = spool
            .restore_set_aside()
            .map_err(|e| format!("cannot restore set-aside segments: {e}"))?;
        eprintln!("panoptic: {restored} set-aside segment(s) put back for replay");
    }
    let waiting = spool.summary().map_err(|e| e.to_string())?.events as u64;
    if waiting == 0 {
        eprintln!(
            "panoptic: the spool at {} is empty",
            global.spool_dir.display()
        );
        return Ok(());
    }
    connect::ping(global).await?;
    // A handle on the same spool replays it as soon as it starts.
    let panoptic = Panoptic::builder()
        .username("panoptic-cli")
        .mongodb_uri(&global.mongodb_uri)
        .spool_dir(&global.spool_dir)
        .server_timeout(Duration::from_secs(global.timeout.max(1)))
        .build()
        .map_err(|e| e.to_string())?;
    let progress = ProgressBar::new(waiting);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events delivered ({eta})")
            .map_err(|e| e.to_string())?,
    );
    let deadline = Instant::now() + Duration::from_secs(args.deadline);
    loop {
        let stats = panoptic.stats();
        progress.set_position(stats.replayed.min(waiting));
        let left = spool.summary().map_err(|e| e.to_string())?.events;
        if left == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "deadline passed with {left} event(s) still in the spool{}",
                stats
                    .last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    progress.finish_and_clear();
    let stats = panoptic.stats();
    eprintln!(
        "panoptic: delivered {} event(s) ({} new, {} already in MongoDB)",
        stats.replayed,
        stats.replayed - stats.duplicates.min(stats.replayed),
        stats.duplicates
    );
    Ok(())
}
