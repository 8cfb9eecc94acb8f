//! Who else consumes this Slack app's events. Slack hands each Socket Mode event to one
//! of the app's connections, so every other consumer takes part of the stream away —
//! unless it shares what it receives. Processes on this store do (the store's feed);
//! anyone else is a split the lead must be told about.
//!
//! Pure: a hello's count and the store's heartbeats in, the verdict out.

use crate::store::Neighbour;

/// What this process knows of the app's other consumers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Company {
    /// Connections beyond this store's processes at the last hello.
    others: u32,
    /// This store's other processes then.
    neighbours: Vec<Neighbour>,
}

/// A change of [`Company::others`], for the caller to show and log once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Other consumers appeared (or their number changed).
    Split { others: u32 },
    /// They left: the stream is whole again.
    Whole,
}

impl Company {
    /// A hello counted `app_connections` on the app while `ours` were this process's and
    /// the store's other processes held theirs.
    pub fn on_hello(
        &mut self,
        app_connections: u32,
        ours: u32,
        neighbours: Vec<Neighbour>,
    ) -> Option<Change> {
        let shared: u32 = neighbours.iter().map(|n| n.connections).sum();
        let others = app_connections.saturating_sub(ours.saturating_add(shared));
        self.neighbours = neighbours;
        let before = std::mem::replace(&mut self.others, others);
        match (before, others) {
            (b, o) if b == o => None,
            (_, 0) => Some(Change::Whole),
            (_, o) => Some(Change::Split { others: o }),
        }
    }

    /// Connections on the app that share nothing with this store.
    pub fn others(&self) -> u32 {
        self.others
    }

    pub fn is_split(&self) -> bool {
        self.others > 0
    }

    /// The processes sharing this store at the last hello.
    pub fn neighbours(&self) -> &[Neighbour] {
        &self.neighbours
    }

    /// The words on screen while split: it says what is wrong and where the fix is.
    pub fn warning(&self) -> Option<String> {
        self.is_split().then(|| warning(self.others))
    }
}

/// What the header (and `tail`, and `check`) say of `others` foreign connections.
pub fn warning(others: u32) -> String {
    format!(
        "⚠ {others} {} on this app: live events are split — see README \"Several leads\"",
        connections(others)
    )
}

/// [`warning`] for a narrow terminal: still what is wrong and where the fix is.
pub fn short_warning(others: u32) -> String {
    format!(
        "⚠ split: {others} {} — README \"Several leads\"",
        connections(others)
    )
}

fn connections(n: u32) -> &'static str {
    if n == 1 {
        "other connection"
    } else {
        "other connections"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(connections: u32) -> Neighbour {
        Neighbour {
            id: format!("tail-{connections}"),
            kind: "tail".into(),
            pid: 1,
            connections,
        }
    }

    #[test]
    fn processes_on_this_store_are_not_others() {
        let mut c = Company::default();
        assert_eq!(c.on_hello(2, 2, Vec::new()), None, "alone");
        assert_eq!(c.on_hello(5, 2, vec![tail(2), tail(1)]), None);
        assert!(!c.is_split());
        assert_eq!(c.warning(), None);
        assert_eq!(c.neighbours().len(), 2);
    }

    #[test]
    fn anyone_else_is_a_split_until_they_leave() {
        let mut c = Company::default();
        assert_eq!(
            c.on_hello(4, 2, vec![tail(1)]),
            Some(Change::Split { others: 1 })
        );
        assert_eq!(
            c.warning().as_deref(),
            Some(
                "⚠ 1 other connection on this app: live events are split — see README \"Several leads\""
            )
        );
        assert_eq!(c.on_hello(4, 2, vec![tail(1)]), None, "said once");
        assert_eq!(
            c.on_hello(5, 2, vec![tail(1)]),
            Some(Change::Split { others: 2 })
        );
        assert_eq!(c.on_hello(3, 2, vec![tail(1)]), Some(Change::Whole));
        assert!(!c.is_split());
    }

    #[test]
    fn a_count_below_ours_is_no_split() {
        // A neighbour still connecting has beaten before Slack counts it.
        let mut c = Company::default();
        assert_eq!(c.on_hello(2, 2, vec![tail(2)]), None);
        assert_eq!(c.others(), 0);
    }
}
