//! Logs: to stderr for the headless commands, to a private file for the dashboard, which
//! owns the terminal — rotated by size as it is written, so a long trace cannot fill the
//! disk.

use color_eyre::eyre::{Result, WrapErr};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The dashboard's log: past this size it is rotated…
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// …keeping this many older files (`swarmdeck.log.1` the newest).
pub const KEEP: u32 = 3;

/// Logs go to stderr for the headless commands, and to a file for the dashboard, which
/// owns the terminal.
pub fn init(level: &str, file: Option<&Path>) -> Result<()> {
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
                create_private_dir(dir).wrap_err_with(|| {
                    format!("could not create the log folder {}", dir.display())
                })?;
            }
            let log = RotatingLog::open(path, MAX_BYTES, KEEP)
                .wrap_err_with(|| format!("could not open the log file {}", path.display()))?;
            builder.with_writer(std::sync::Mutex::new(log)).init();
        }
    }
    Ok(())
}

/// Missing folders are made 0700: the log can hold customers' words.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A log file that rotates itself by size: a write that would take it past `max` bytes
/// first turns it into `.1` (`.1` into `.2`…, the oldest beyond `keep` dropped) and goes
/// into a fresh file.
pub struct RotatingLog {
    path: PathBuf,
    max: u64,
    keep: u32,
    file: std::fs::File,
    /// Bytes in the current file.
    len: u64,
}

impl RotatingLog {
    /// Opens `path` for appending (0600), rotating it first if it is past `max` already.
    pub fn open(path: &Path, max: u64, keep: u32) -> std::io::Result<RotatingLog> {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > max) {
            shift(path, keep);
        }
        let file = open_private(path)?;
        let len = file.metadata()?.len();
        Ok(RotatingLog {
            path: path.to_path_buf(),
            max,
            keep,
            file,
            len,
        })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        shift(&self.path, self.keep);
        // Counted as fresh even if the new file cannot be opened: the next try is a
        // whole `max` away, rather than a rename of every file at every line.
        self.len = 0;
        self.file = open_private(&self.path)?;
        Ok(())
    }
}

impl Write for RotatingLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.len > 0 && self.len + buf.len() as u64 > self.max {
            self.rotate()?;
        }
        let written = self.file.write(buf)?;
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// `swarmdeck.log` becomes `.1`, `.1` becomes `.2`…, and the oldest beyond `keep` goes.
fn shift(path: &Path, keep: u32) {
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

    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("swarmdeck-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_log_past_its_size_at_start_is_rotated_and_the_oldest_dropped() {
        let dir = fresh_dir("rotate-start");
        let log = dir.join("swarmdeck.log");
        for round in 0..4 {
            std::fs::write(&log, format!("round {round} {}", "x".repeat(100))).unwrap();
            drop(RotatingLog::open(&log, 50, 2).unwrap());
        }
        let read = |n| std::fs::read_to_string(dir.join(format!("swarmdeck.log.{n}"))).unwrap();
        assert!(read(1).starts_with("round 3") && read(2).starts_with("round 2"));
        assert!(!dir.join("swarmdeck.log.3").exists());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "", "a fresh log");
        std::fs::write(&log, "small").unwrap();
        drop(RotatingLog::open(&log, 50, 2).unwrap());
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "small",
            "a small log stays"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_log_written_past_its_size_rotates_while_running() {
        let dir = fresh_dir("rotate-running");
        let path = dir.join("swarmdeck.log");
        // Already 60 of its 100 bytes from an earlier run.
        std::fs::write(&path, format!("{}\n", "e".repeat(59))).unwrap();
        let mut log = RotatingLog::open(&path, 100, 2).unwrap();
        let lines: Vec<String> = (0..20)
            .map(|n| format!("line {n:02} {}\n", "y".repeat(20)))
            .collect();
        for line in &lines {
            log.write_all(line.as_bytes()).unwrap();
        }
        log.flush().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let (current, one, two) = (
            read(&path),
            read(&dir.join("swarmdeck.log.1")),
            read(&dir.join("swarmdeck.log.2")),
        );
        for (name, text) in [("current", &current), (".1", &one), (".2", &two)] {
            assert!(
                !text.is_empty() && text.len() <= 100,
                "{name}: {} bytes",
                text.len()
            );
        }
        assert!(!dir.join("swarmdeck.log.3").exists(), "only two kept");
        // The newest lines, in order, across .2, .1 and the current file; whole lines each.
        let kept = format!("{two}{one}{current}");
        let all = lines.concat();
        assert!(all.ends_with(&kept), "{kept}");
        assert!(current.ends_with(&lines[19]) && !one.contains(&lines[19]));
        assert!(
            !kept.contains("eee"),
            "the earlier run's part was rotated away"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_log_folder_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = fresh_dir("log-folder");
        let logs = dir.join("state").join("swarmdeck");
        create_private_dir(&logs).unwrap();
        drop(RotatingLog::open(&logs.join("swarmdeck.log"), 100, 2).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&logs), 0o700);
        assert_eq!(mode(&dir.join("state")), 0o700, "a missing parent too");
        assert_eq!(mode(&logs.join("swarmdeck.log")), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
