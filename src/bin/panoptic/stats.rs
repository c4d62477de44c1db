//! `panoptic stats`: what waits in the spool, what was set aside, and the
//! dead letters.

use std::collections::BTreeMap;

use panoptic::Spool;

use crate::options::Global;

/// Runs `panoptic stats`.
pub fn run(global: &Global) -> Result<(), String> {
    let spool = Spool::open(&global.spool_dir);
    // One pass: the counts and the events per destination together.
    let mut routes = BTreeMap::<String, usize>::new();
    let summary = spool
        .summary_with(|event| {
            *routes
                .entry(format!("{}.{}", event.database, event.collection))
                .or_default() += 1;
        })
        .map_err(|e| format!("cannot read the spool: {e}"))?;
    println!("spool      {}", global.spool_dir.display());
    println!("segments   {}", summary.segments);
    println!("events     {}", summary.events);
    println!("bytes      {}", summary.bytes);
    for (route, count) in routes {
        println!("  {route:<50} {count:>8} pending");
    }
    let aside = spool
        .set_aside()
        .map_err(|e| format!("cannot read the spool: {e}"))?;
    println!("set aside  {}", aside.len());
    for (path, reason) in &aside {
        println!("  {}  {reason}", path.display());
    }
    let letters = spool
        .dead_letters()
        .map_err(|e| format!("cannot read the spool: {e}"))?;
    println!("dead letters {}", letters.len());
    for letter in &letters {
        println!(
            "  {}  {}.{}  {}",
            letter.path.display(),
            letter.database,
            letter.collection,
            letter.reason
        );
    }
    Ok(())
}
