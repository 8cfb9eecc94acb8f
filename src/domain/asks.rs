//! Experts answer from Slack: a lead asks an expert to take a swarm (`[actions] assign =
//! "ask"`), the expert accepts or declines with the buttons of a direct message, or claims
//! a request with a reaction. The ask, the answer and the claim are all markers in the
//! swarm's thread, so every copy of swarmdeck derives the same state; a click is only a
//! request to post the answer, checked here against that state before anything is done.

use super::{Desk, SwarmId, Ts};
use std::fmt;

/// The Accept button's `action_id`.
pub const ACCEPT: &str = "swarmdeck_accept";
/// The Decline menu's `action_id` (a static select: each option is a reason).
pub const DECLINE: &str = "swarmdeck_decline";
/// The `block_id` of the DM's actions block.
pub const ASK_BLOCK: &str = "swarmdeck_ask";

/// Why an expert cannot take a swarm: a short list, so the lead reads it at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeclineReason {
    Busy,
    NotMyArea,
    OutOfOffice,
    AtCapacity,
}

impl DeclineReason {
    pub const ALL: [DeclineReason; 4] = [
        DeclineReason::Busy,
        DeclineReason::NotMyArea,
        DeclineReason::OutOfOffice,
        DeclineReason::AtCapacity,
    ];

    /// As it travels in a button value and a marker.
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::Busy => "busy",
            DeclineReason::NotMyArea => "not_my_area",
            DeclineReason::OutOfOffice => "out_of_office",
            DeclineReason::AtCapacity => "at_capacity",
        }
    }

    pub fn parse(code: &str) -> Option<DeclineReason> {
        DeclineReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// As the expert picks it and the lead reads it.
    pub fn label(self) -> &'static str {
        match self {
            DeclineReason::Busy => "Busy with another case",
            DeclineReason::NotMyArea => "Not my area",
            DeclineReason::OutOfOffice => "Out of office",
            DeclineReason::AtCapacity => "At capacity",
        }
    }

    /// A word or two for the row.
    pub fn short(self) -> &'static str {
        match self {
            DeclineReason::Busy => "busy",
            DeclineReason::NotMyArea => "not my area",
            DeclineReason::OutOfOffice => "away",
            DeclineReason::AtCapacity => "at capacity",
        }
    }
}

/// How an ask was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The expert took it: with the button, or assigned some other way (a lead, a claim).
    Accepted,
    Declined(DeclineReason),
    /// Moot before the expert answered: someone else was assigned, or another expert
    /// asked after them.
    Withdrawn,
}

/// What a click says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Accept,
    Decline(DeclineReason),
}

/// An ask, as the thread's markers tell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    /// The id of the lead's move that asked: what the buttons carry.
    pub id: String,
    pub expert: String,
    pub lead: Option<String>,
    pub at: Ts,
    pub answer: Option<(Ts, Answer)>,
}

/// An expert assigned to a swarm, and whether they have spoken in its thread since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub expert: String,
    pub at: Ts,
    /// Their first reply in the thread after `at`.
    pub spoke: Option<Ts>,
}

/// What the buttons of an ask carry: the swarm and the ask they answer, and for a
/// Decline option its reason: `<channel>|<thread ts>|<ask id>[|<reason>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ButtonValue {
    pub swarm: SwarmId,
    pub ask: String,
    pub reason: Option<DeclineReason>,
}

impl ButtonValue {
    pub fn encode(&self) -> String {
        let mut v = format!(
            "{}|{}|{}",
            self.swarm.channel, self.swarm.thread_ts, self.ask
        );
        if let Some(r) = self.reason {
            v.push('|');
            v.push_str(r.code());
        }
        v
    }

    pub fn parse(text: &str) -> Option<ButtonValue> {
        let mut parts = text.split('|');
        let channel = parts.next().filter(|c| !c.is_empty())?;
        let thread_ts = Ts::parse(parts.next()?)?;
        let ask = parts.next().filter(|a| !a.is_empty())?;
        let reason = match parts.next() {
            Some(code) => Some(DeclineReason::parse(code)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(ButtonValue {
            swarm: SwarmId::new(channel, thread_ts),
            ask: ask.to_string(),
            reason,
        })
    }
}

/// A click on a button or menu of a message, as the Slack edge decoded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Click {
    /// Who clicked.
    pub user: String,
    pub action_id: String,
    /// The button's value, or the chosen option's.
    pub value: String,
    /// The message clicked (a DM): where the answer is shown in place.
    pub channel: String,
    pub message_ts: Ts,
    /// Whether this app (or a peer lead's swarmdeck) posted that message.
    pub on_our_message: bool,
    /// Slack's `action_ts`: with the user, what tells this click from another (a
    /// redelivery carries the same).
    pub at: Option<Ts>,
}

/// A click that answers an ask: what to post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub swarm: SwarmId,
    pub ask: String,
    pub expert: String,
    /// Who asked: named on the answer's marker.
    pub lead: Option<String>,
    pub choice: Choice,
    /// The DM to update in place.
    pub channel: String,
    pub message_ts: Ts,
    /// This click, among others on the same ask (see [`Click::at`]).
    pub click: String,
}

/// Why a click changes nothing (logged; the desk is left as it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    NotOurMessage,
    UnknownAction(String),
    BadValue(String),
    NoSuchSwarm(SwarmId),
    NoSuchAsk(String),
    NotTheAddressee { user: String, expert: String },
    AlreadyAnswered(String),
    Closed(SwarmId),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::NotOurMessage => write!(f, "the message clicked is not one swarmdeck posted"),
            Refused::UnknownAction(a) => write!(f, "`{a}` is not an action swarmdeck sends"),
            Refused::BadValue(v) => write!(f, "the value `{v}` is not one swarmdeck wrote"),
            Refused::NoSuchSwarm(s) => write!(f, "no swarm {} {}", s.channel, s.thread_ts),
            Refused::NoSuchAsk(a) => write!(f, "the swarm has no ask `{a}`"),
            Refused::NotTheAddressee { user, expert } => {
                write!(f, "{user} clicked an ask addressed to {expert}")
            }
            Refused::AlreadyAnswered(a) => write!(f, "the ask `{a}` is answered already"),
            Refused::Closed(s) => write!(f, "the swarm {} {} is resolved", s.channel, s.thread_ts),
        }
    }
}

/// Reads a click against the desk: an answer to post, or why it changes nothing. Only an
/// unanswered ask of an open swarm, clicked by the expert it was addressed to, on a
/// message of ours with one of our actions, is answered; a second click finds the
/// first's answer already in the thread.
pub fn read(desk: &Desk, click: &Click) -> Result<Reply, Refused> {
    if !click.on_our_message {
        return Err(Refused::NotOurMessage);
    }
    let value =
        ButtonValue::parse(&click.value).ok_or_else(|| Refused::BadValue(click.value.clone()))?;
    let choice = match (click.action_id.as_str(), value.reason) {
        (ACCEPT, None) => Choice::Accept,
        (DECLINE, Some(reason)) => Choice::Decline(reason),
        (ACCEPT | DECLINE, _) => return Err(Refused::BadValue(click.value.clone())),
        (other, _) => return Err(Refused::UnknownAction(other.to_string())),
    };
    let swarm = desk
        .by_id(&value.swarm)
        .ok_or_else(|| Refused::NoSuchSwarm(value.swarm.clone()))?;
    let ask = swarm
        .asks
        .iter()
        .find(|a| a.id == value.ask)
        .ok_or_else(|| Refused::NoSuchAsk(value.ask.clone()))?;
    if ask.expert != click.user {
        return Err(Refused::NotTheAddressee {
            user: click.user.clone(),
            expert: ask.expert.clone(),
        });
    }
    if ask.answer.is_some() {
        return Err(Refused::AlreadyAnswered(ask.id.clone()));
    }
    if !swarm.is_open() {
        return Err(Refused::Closed(value.swarm));
    }
    Ok(Reply {
        swarm: value.swarm,
        ask: ask.id.clone(),
        expert: ask.expert.clone(),
        lead: ask.lead.clone(),
        choice,
        channel: click.channel.clone(),
        message_ts: click.message_ts,
        click: format!("{}:{}", click.user, click.at.map_or(0, |t| t.0)),
    })
}

impl Refused {
    /// The ask may simply not be known yet (its marker still on its way, a gap fill
    /// still reading): worth reading the click again a little later.
    pub fn may_come(&self) -> bool {
        matches!(self, Refused::NoSuchSwarm(_) | Refused::NoSuchAsk(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_value_survives_the_round_trip_and_a_foreign_one_does_not_parse() {
        let v = ButtonValue {
            swarm: SwarmId::new("C0POD", Ts(1_700_000_000_000_100)),
            ask: "a1-17-3".into(),
            reason: Some(DeclineReason::NotMyArea),
        };
        assert_eq!(v.encode(), "C0POD|1700000000.000100|a1-17-3|not_my_area");
        assert_eq!(ButtonValue::parse(&v.encode()), Some(v));
        for bad in [
            "",
            "underlying",
            "C0POD|soon|a1",
            "C0POD|1.0|",
            "C0POD|1.0|a1|tired",
            "C0POD|1.0|a1|busy|x",
        ] {
            assert_eq!(ButtonValue::parse(bad), None, "{bad}");
        }
    }
}
