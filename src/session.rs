//! What the dashboard and `tail` both start with: a connected Slack client, the pods it
//! found, and a desk for them.

use crate::config::Settings;
use crate::domain::{Desk, Input, Ts};
use crate::slack::{self, Connected, translate::Translator};
use color_eyre::eyre::{Result, WrapErr};

pub struct Session {
    pub connected: Connected,
    pub translator: Translator,
    pub desk: Desk,
    /// Configured pod channels the bot is not in.
    pub missing: Vec<String>,
}

pub async fn open(settings: &Settings, now: Ts) -> Result<Session> {
    let connected = slack::connect(settings.slack()?)
        .await
        .wrap_err_with(|| format!("could not connect to Slack at {}", settings.api_url))?;
    let channels: Vec<(String, String)> = connected
        .channels
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let (pods, missing) = settings.pods(&channels);
    for channel in &missing {
        tracing::warn!(channel, "a configured pod channel the bot is not in");
    }
    let mut desk = Desk::new(settings.desk(), pods);
    for (id, name) in channels {
        desk.apply(Input::ChannelNamed { id, name }, now);
    }
    Ok(Session {
        translator: Translator::new(&connected.identity),
        connected,
        desk,
        missing,
    })
}
