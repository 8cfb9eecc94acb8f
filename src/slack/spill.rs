//! Envelopes read (and acked) faster than the desk applies them wait here: the oldest
//! in memory up to a bound, the rest in a file beside the store, read back in arrival
//! order. A flood of events then neither delays acks nor grows memory without bound.

use super::wire::Envelope;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One envelope as the file keeps it (one JSON line each).
#[derive(Serialize, Deserialize)]
struct Line {
    id: String,
    retry: u32,
    reason: String,
    payload: Option<String>,
    /// When it was read, in µs after the queue began (an `Instant` has no absolute form).
    read_us: u64,
    #[serde(default)]
    interactive: bool,
}

pub(crate) struct Spill {
    memory: VecDeque<(Envelope, Instant)>,
    limit: usize,
    disk: Option<Disk>,
    began: Instant,
}

/// The file's half of the queue: appended at the end, read from `read_at`.
struct Disk {
    path: PathBuf,
    writer: BufWriter<File>,
    reader: BufReader<File>,
    /// Envelopes in the file not read back yet.
    held: usize,
    /// The first trouble writing or reading, said once; memory takes over meanwhile.
    failed: bool,
    /// Envelopes that went in and could not be read back, not yet told.
    lost: usize,
}

impl Spill {
    /// A queue that spills past `limit` envelopes into a file in `dir` (none: memory only,
    /// as for a process with no store).
    pub(crate) fn new(dir: Option<&Path>, limit: usize) -> Spill {
        let disk = dir.and_then(|dir| match Disk::open(dir) {
            Ok(disk) => Some(disk),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "no spill file: a flood of events waits in memory");
                None
            }
        });
        Spill {
            memory: VecDeque::new(),
            limit,
            disk,
            began: Instant::now(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.memory.is_empty() && self.disk.as_ref().is_none_or(|d| d.held == 0)
    }

    /// Envelopes waiting: (in memory, on disk).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (usize, usize) {
        (self.memory.len(), self.disk.as_ref().map_or(0, |d| d.held))
    }

    /// Queues an envelope behind every other.
    pub(crate) fn push(&mut self, envelope: Envelope, read_at: Instant) {
        let spilling = self.disk.as_ref().is_some_and(|d| d.held > 0);
        if !spilling && self.memory.len() < self.limit {
            self.memory.push_back((envelope, read_at));
            return;
        }
        let line = Line {
            id: envelope.envelope_id.clone(),
            retry: envelope.retry_attempt,
            reason: envelope.retry_reason.clone(),
            payload: envelope.payload.clone(),
            read_us: read_at.saturating_duration_since(self.began).as_micros() as u64,
            interactive: envelope.interactive,
        };
        let on_disk = match self.disk.as_mut().filter(|d| !d.failed) {
            Some(disk) => disk.append(&line),
            None => false,
        };
        if !on_disk {
            // No file, or it failed: memory it is (nothing is dropped; after a failure
            // these may come out ahead of older ones still in the file, which the desk's
            // fold puts back in order).
            self.memory.push_back((envelope, read_at));
        }
    }

    /// How many envelopes were lost in the file since last asked (acked, so only a
    /// read of history brings them back).
    pub(crate) fn take_lost(&mut self) -> usize {
        self.disk
            .as_mut()
            .map_or(0, |d| std::mem::take(&mut d.lost))
    }

    /// The oldest envelope, and when it was read.
    pub(crate) fn pop(&mut self) -> Option<(Envelope, Instant)> {
        if self.memory.is_empty()
            && let Some(disk) = self.disk.as_mut()
        {
            // Back from disk in arrival order, half a memory's worth at a time.
            let want = (self.limit / 2).max(1);
            for line in disk.read(want) {
                let envelope = Envelope {
                    envelope_id: line.id,
                    retry_attempt: line.retry,
                    retry_reason: line.reason,
                    payload: line.payload,
                    interactive: line.interactive,
                };
                let read_at = self.began + Duration::from_micros(line.read_us);
                self.memory.push_back((envelope, read_at));
            }
        }
        self.memory.pop_front()
    }
}

impl Disk {
    fn open(dir: &Path) -> std::io::Result<Disk> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("spill-{}.jsonl", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(true).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        // Opened apart, not cloned: a clone would share the writer's offset.
        let reader = BufReader::new(File::open(&path)?);
        Ok(Disk {
            path,
            writer: BufWriter::new(file),
            reader,
            held: 0,
            failed: false,
            lost: 0,
        })
    }

    fn append(&mut self, line: &Line) -> bool {
        // One write of the whole line: a failure part way leaves no line without its end
        // that a later one would run into.
        let written = serde_json::to_string(line)
            .map_err(std::io::Error::other)
            .and_then(|mut json| {
                json.push('\n');
                self.writer.write_all(json.as_bytes())
            });
        match written {
            Ok(()) => {
                self.held += 1;
                true
            }
            Err(e) => {
                self.fail(&e);
                false
            }
        }
    }

    /// Up to `want` envelopes from where reading left off; the file starts over once
    /// all it held was read.
    fn read(&mut self, want: usize) -> Vec<Line> {
        let mut lines = Vec::new();
        if self.held == 0 {
            return lines;
        }
        if let Err(e) = self.writer.flush() {
            self.fail(&e);
        }
        let mut text = String::new();
        while lines.len() < want && self.held > 0 {
            text.clear();
            match self.reader.read_line(&mut text) {
                // The file holds less than was put in it (a write that failed, a file
                // damaged): what is missing is lost here, said, and history must bring
                // it back. Never waited for: it is not coming.
                Ok(0) => {
                    self.lose(&std::io::Error::other("the file ended early"));
                    break;
                }
                Ok(_) => {
                    self.held -= 1;
                    match serde_json::from_str::<Line>(text.trim_end()) {
                        Ok(line) => lines.push(line),
                        // Only this process writes it: a bad line is a bug, said, not fatal.
                        Err(e) => {
                            tracing::error!(error = %e, "an unreadable line in the spill file was skipped")
                        }
                    }
                }
                Err(e) => {
                    self.lose(&e);
                    break;
                }
            }
        }
        if self.held == 0 {
            self.start_over();
        }
        lines
    }

    /// Empties the file once everything in it was read, so it never outgrows one flood.
    fn start_over(&mut self) {
        let reset = self
            .writer
            .flush()
            .and_then(|()| self.writer.get_ref().set_len(0))
            .and_then(|()| self.writer.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| self.reader.seek(SeekFrom::Start(0)).map(|_| ()));
        if let Err(e) = reset {
            self.fail(&e);
        }
    }

    fn lose(&mut self, e: &std::io::Error) {
        tracing::error!(path = %self.path.display(), error = %e, lost = self.held, "envelopes in the spill file could not be read back; history will bring them back");
        self.lost += self.held;
        self.held = 0;
        self.fail(e);
    }

    fn fail(&mut self, e: &std::io::Error) {
        if !self.failed {
            tracing::error!(path = %self.path.display(), error = %e, "the spill file failed: a flood of events waits in memory");
        }
        self.failed = true;
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(n: usize) -> Envelope {
        Envelope {
            envelope_id: format!("e{n}"),
            retry_attempt: (n % 3) as u32,
            retry_reason: String::new(),
            // A payload with a newline and quotes: one line in the file all the same.
            payload: Some(format!("{{\n \"n\": {n}, \"text\": \"a \\\"b\\\"\" }}")),
            interactive: n.is_multiple_of(5),
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("swarmdeck-spill-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn past_the_bound_envelopes_go_to_disk_and_come_back_in_order() {
        let dir = dir("order");
        let mut spill = Spill::new(Some(&dir), 4);
        let at = Instant::now();
        for n in 0..10 {
            spill.push(envelope(n), at + Duration::from_millis(n as u64));
        }
        assert_eq!(spill.waiting(), (4, 6), "the bound holds in memory");
        // Interleave: some out, more in, while the file still holds older ones.
        let mut out = Vec::new();
        for _ in 0..5 {
            out.push(spill.pop().unwrap());
        }
        for n in 10..13 {
            spill.push(envelope(n), at + Duration::from_millis(n as u64));
        }
        while let Some(e) = spill.pop() {
            out.push(e);
        }
        let ids: Vec<String> = out.iter().map(|(e, _)| e.envelope_id.clone()).collect();
        let want: Vec<String> = (0..13).map(|n| format!("e{n}")).collect();
        assert_eq!(ids, want);
        let (back, sent) = (&out[7].0, envelope(7));
        assert_eq!(
            (&back.payload, back.retry_attempt, &back.retry_reason),
            (&sent.payload, sent.retry_attempt, &sent.retry_reason),
            "an envelope comes back whole"
        );
        assert!(
            out[10].0.interactive && !out[9].0.interactive,
            "a click stays a click through the file"
        );
        let read_at = out[7].1.duration_since(at);
        assert!(
            read_at.abs_diff(Duration::from_millis(7)) < Duration::from_millis(2),
            "{read_at:?}"
        );
        assert!(spill.is_empty());
        let file = dir.join(format!("spill-{}.jsonl", std::process::id()));
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            0,
            "the file starts over once read"
        );
        drop(spill);
        assert!(!file.exists(), "the file goes with the queue");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_file_is_lost_and_told_not_waited_for() {
        let dir = dir("damaged");
        let mut spill = Spill::new(Some(&dir), 2);
        for n in 0..6 {
            spill.push(envelope(n), Instant::now());
        }
        assert_eq!(spill.waiting(), (2, 4));
        // The file loses what it held (as a write that failed would).
        let file = dir.join(format!("spill-{}.jsonl", std::process::id()));
        spill.disk.as_mut().unwrap().writer.flush().unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(0)
            .unwrap();
        let ids: Vec<String> = std::iter::from_fn(|| spill.pop())
            .map(|(e, _)| e.envelope_id)
            .collect();
        assert_eq!(ids, ["e0", "e1"], "what memory held comes out");
        assert!(spill.is_empty(), "nothing left to wait for");
        assert_eq!(spill.take_lost(), 4);
        assert_eq!(spill.take_lost(), 0, "told once");
        drop(spill);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_folder_everything_waits_in_memory() {
        let mut spill = Spill::new(None, 2);
        for n in 0..5 {
            spill.push(envelope(n), Instant::now());
        }
        assert_eq!(spill.waiting(), (5, 0));
        let ids: Vec<String> = std::iter::from_fn(|| spill.pop())
            .map(|(e, _)| e.envelope_id)
            .collect();
        assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4"]);
    }
}
