//! Logs: to stderr for the headless commands, to a private, rotated file for the
//! dashboard, which owns the terminal.

use color_eyre::eyre::{Result, WrapErr};

/// Logs go to stderr for the headless commands, and to a file for the dashboard, which
/// owns the terminal.
pub fn init(level: &str, file: Option<&std::path::Path>) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match file {
        None => builder.with_writer(std::io::stderr).init(),
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).wrap_err_with(|| {
                    format!("could not create the log folder {}", dir.display())
                })?;
            }
            rotate(path, 10 * 1024 * 1024, 3);
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let log = options
                .open(path)
                .wrap_err_with(|| format!("could not open the log file {}", path.display()))?;
            builder.with_writer(std::sync::Mutex::new(log)).init();
        }
    }
    Ok(())
}

/// Keeps the log from growing without end: past `max` bytes at start, `swarmdeck.log`
/// becomes `.1`, `.1` becomes `.2`…, and the oldest beyond `keep` goes.
pub fn rotate(path: &std::path::Path, max: u64, keep: u32) {
    if std::fs::metadata(path).map_or(true, |m| m.len() <= max) {
        return;
    }
    let numbered = |n: u32| path.with_extension(format!("log.{n}"));
    let _ = std::fs::remove_file(numbered(keep));
    for n in (1..keep).rev() {
        let _ = std::fs::rename(numbered(n), numbered(n + 1));
    }
    let _ = std::fs::rename(path, numbered(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_past_its_size_is_rotated_and_the_oldest_dropped() {
        let dir = std::env::temp_dir().join(format!("swarmdeck-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("swarmdeck.log");
        for round in 0..4 {
            std::fs::write(&log, format!("round {round} {}", "x".repeat(100))).unwrap();
            rotate(&log, 50, 2);
        }
        assert!(!log.exists());
        let read = |n| std::fs::read_to_string(dir.join(format!("swarmdeck.log.{n}"))).unwrap();
        assert!(read(1).starts_with("round 3") && read(2).starts_with("round 2"));
        assert!(!dir.join("swarmdeck.log.3").exists());
        std::fs::write(&log, "small").unwrap();
        rotate(&log, 50, 2);
        assert!(log.exists(), "a small log stays");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
