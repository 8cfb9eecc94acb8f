//! Searches of resolved swarms, off the loop: a thread with its own connection to the
//! store answers each question, tagged with a generation so that an answer the lead has
//! moved past (the selection changed again) is dropped, never drawn.

use crate::domain::{Desk, Similar, SwarmId, Ts};
use crate::store::{Match, Store};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// What is asked of the store.
#[derive(Clone, Debug)]
pub(crate) enum Question {
    /// Resolved swarms like this open one (detail and triage show them).
    Like { swarm: SwarmId, subject: String },
    /// The lead's own words (`S`).
    Words { query: String },
}

/// An answer, with the generation of its question.
#[derive(Debug)]
pub(crate) struct Answer {
    pub generation: u64,
    pub question: Question,
    pub found: Vec<Similar>,
}

/// Resolved swarms like the selected one shown, and the search the lead typed.
const LIKE: usize = 3;
const WORDS: usize = 10;

pub(crate) struct Search {
    questions: std::sync::mpsc::Sender<(u64, Question)>,
    /// The latest generation of each kind of question: a new "like" question makes an
    /// older "like" answer stale, not the answer to the lead's own search.
    latest: [u64; 2],
    generation: u64,
    /// Resolved swarms like the one shown, and which one that was (`None`: asked).
    like: Option<(SwarmId, Option<Vec<Similar>>)>,
}

impl Search {
    /// Starts the thread; answers come back on `answers`.
    pub fn spawn(dir: PathBuf, answers: mpsc::UnboundedSender<Answer>) -> Search {
        let (questions, rx) = std::sync::mpsc::channel::<(u64, Question)>();
        std::thread::Builder::new()
            .name("swarmdeck-search".into())
            .spawn(move || {
                let store = match Store::open(&dir) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "search has no store");
                        return;
                    }
                };
                while let Ok((generation, question)) = rx.recv() {
                    let found = answer(&store, &question).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "search failed");
                        Vec::new()
                    });
                    let answer = Answer {
                        generation,
                        question,
                        found,
                    };
                    if answers.send(answer).is_err() {
                        return;
                    }
                }
            })
            .ok();
        Search {
            questions,
            latest: [0; 2],
            generation: 0,
            like: None,
        }
    }

    /// Asks; the answer's generation says whether it is still the latest question.
    pub fn ask(&mut self, question: Question) -> u64 {
        self.generation += 1;
        self.latest[kind(&question)] = self.generation;
        let _ = self.questions.send((self.generation, question));
        self.generation
    }

    fn is_latest(&self, answer: &Answer) -> bool {
        self.latest[kind(&answer.question)] == answer.generation
    }

    /// The swarm shown (detail, triage): resolved swarms like it are asked for when it
    /// changes, not on every frame.
    pub fn like(&mut self, shown: Option<SwarmId>, desk: &Desk) {
        let Some((id, swarm)) = shown.and_then(|id| desk.by_id(&id).map(|s| (id, s))) else {
            // Nothing shown: nothing from before shows either.
            self.like = None;
            return;
        };
        if self.like.as_ref().is_some_and(|(s, _)| *s == id) {
            return;
        }
        let subject = swarm.request.subject.clone();
        self.ask(Question::Like {
            swarm: id.clone(),
            subject,
        });
        self.like = Some((id, None));
    }

    /// What was found like the swarm shown, once answered.
    pub fn similar(&self) -> &[Similar] {
        match &self.like {
            Some((_, Some(found))) => found,
            _ => &[],
        }
    }

    /// An answer: kept if still the latest; the lead's own search comes back to be shown.
    pub fn on_answer(&mut self, answer: Answer) -> Option<(String, Vec<Similar>)> {
        if !self.is_latest(&answer) {
            return None;
        }
        match answer.question {
            Question::Like { swarm, .. } => {
                self.like = Some((swarm, Some(answer.found)));
                None
            }
            Question::Words { query } => Some((query, answer.found)),
        }
    }
}

fn kind(q: &Question) -> usize {
    match q {
        Question::Like { .. } => 0,
        Question::Words { .. } => 1,
    }
}

fn answer(store: &Store, question: &Question) -> color_eyre::Result<Vec<Similar>> {
    let found = match question {
        Question::Like { swarm, subject } => {
            store.similar(subject, Some((&swarm.channel, swarm.thread_ts.0)), LIKE)?
        }
        Question::Words { query } => store.similar(query, None, WORDS)?,
    };
    Ok(found.into_iter().map(similar).collect())
}

fn similar(m: Match) -> Similar {
    Similar {
        swarm: SwarmId::new(m.channel, Ts(m.thread_ts)),
        case: m.case,
        pod: m.pod,
        subject: m.subject,
        resolution: m.resolution,
        link: m.link,
    }
}
