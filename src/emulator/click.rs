//! A person clicking an element of a message: `POST /_emulator/click`, and the scripted
//! experts. Checked as strictly as Slack lets a click happen, then a `block_actions`
//! payload goes to the app whose bot posted the message, through that app's Socket Mode
//! hub like any event (one connection, redelivered until acked, `--chaos` alike).
//!
//! Slack checks no channel membership for a click (whoever sees the message may click),
//! and neither does the emulator.

use super::methods::block_id;
use super::wire::{self, ClickSite};
use super::world::{Message, Ts, fmt_ts, parse_ts};
use super::{Shared, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// A click, as `/_emulator/click` takes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Click {
    pub user: String,
    /// The message's channel: its id, or its name as the rest of the control API takes.
    pub channel: String,
    pub ts: String,
    pub action_id: String,
    /// A button's value: the element's own when absent, and it must be that one.
    #[serde(default)]
    pub value: Option<String>,
    /// A `static_select`'s choice: the `value` of one of its options.
    #[serde(default)]
    pub selected_option: Option<String>,
}

/// Why a click cannot happen: the control API's status and Slack-style error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub error: &'static str,
}

fn not_found(error: &'static str) -> Refusal {
    Refusal {
        status: StatusCode::NOT_FOUND,
        error,
    }
}

fn refused(error: &'static str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        error,
    }
}

/// A click that happened: its envelope's id (of the first delivery) and its `action_ts`.
#[derive(Debug)]
pub(crate) struct Clicked {
    pub envelope_id: String,
    pub action_ts: String,
}

/// Performs `click` on the workspace: the `block_actions` envelope is queued for the
/// posting app, recorded in `/_emulator/deliveries` as event `click-<n>`.
pub(crate) fn perform(
    shared: &Shared,
    state: &mut State,
    click: &Click,
) -> Result<Clicked, Refusal> {
    let world = &state.world;
    let idx = world.find_channel(&click.channel).map_err(not_found)?;
    let channel = &world.channels[idx];
    let message = parse_ts(&click.ts)
        .and_then(|ts| channel.messages.get(&ts))
        .ok_or_else(|| not_found("message_not_found"))?;
    // Seeded people, and anyone `/_emulator/events` has made known.
    let user = world
        .user(&click.user)
        .ok_or_else(|| refused("user_not_found"))?;
    let (block_id, element) =
        element(message, &click.action_id).ok_or_else(|| refused("no_such_action"))?;
    // Slack sends block_actions only to the app whose bot posted the message.
    let app = message
        .bot_id
        .as_deref()
        .and_then(|bot| world.apps.iter().position(|a| a.bot_id == bot))
        .ok_or_else(|| refused("not_an_app_message"))?;
    let action_ts = shared.clock.next_ts();
    let action = action(element, &block_id, click, action_ts)?;
    let n = state.clicks + 1;
    let site = ClickSite {
        app: &world.apps[app],
        user,
        channel,
        message,
        n,
    };
    let payload = wire::block_actions(world, &site, action);
    state.clicks = n;
    let envelope_id = shared.queue_interactive(state, app, format!("click-{n}"), payload);
    Ok(Clicked {
        envelope_id,
        action_ts: fmt_ts(action_ts),
    })
}

/// The interactive element `action_id` names in a message's blocks (an actions block's
/// elements, a section's accessory), with its block's id.
pub(crate) fn element<'a>(message: &'a Message, action_id: &str) -> Option<(String, &'a Value)> {
    let blocks = message.blocks.as_ref()?.as_array()?;
    blocks.iter().enumerate().find_map(|(i, block)| {
        let candidates: Vec<&Value> = match block["type"].as_str() {
            Some("actions") => block["elements"].as_array()?.iter().collect(),
            Some("section") => block.get("accessory").into_iter().collect(),
            _ => return None,
        };
        let found = candidates
            .into_iter()
            .find(|e| e["action_id"] == action_id)?;
        // Slack gives every block an id; one posted without gets a made-up one here.
        let id = block["block_id"]
            .as_str()
            .map_or_else(|| block_id(message.ts + i as Ts), str::to_string);
        Some((id, found))
    })
}

/// A select's options, those in option groups included.
pub(crate) fn options(element: &Value) -> Vec<&Value> {
    let plain = element["options"].as_array().into_iter().flatten();
    let grouped = element["option_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["options"].as_array().into_iter().flatten());
    plain.chain(grouped).collect()
}

/// The `actions[0]` of the payload: the element as clicked, with Slack's keys for its type.
fn action(element: &Value, block_id: &str, click: &Click, action_ts: Ts) -> Result<Value, Refusal> {
    let kind = element["type"].as_str().unwrap_or_default();
    let mut action = json!({"action_id": click.action_id, "block_id": block_id});
    match kind {
        "button" => {
            if click.selected_option.is_some() {
                return Err(refused("no_such_option"));
            }
            let own = element["value"].as_str();
            if click.value.is_some() && click.value.as_deref() != own {
                return Err(refused("value_mismatch"));
            }
            action["text"] = element["text"].clone();
            if let Some(value) = own {
                action["value"] = json!(value);
            }
        }
        "static_select" => {
            // A select has no value of its own; only its options have.
            if click.value.is_some() {
                return Err(refused("value_mismatch"));
            }
            let chosen = click
                .selected_option
                .as_deref()
                .and_then(|v| options(element).into_iter().find(|o| o["value"] == v))
                .ok_or_else(|| refused("no_such_option"))?;
            action["selected_option"] = json!({"text": chosen["text"], "value": chosen["value"]});
            if let Some(placeholder) = element.get("placeholder") {
                action["placeholder"] = placeholder.clone();
            }
        }
        _ => return Err(refused("unsupported_element")),
    }
    action["type"] = json!(kind);
    action["action_ts"] = json!(fmt_ts(action_ts));
    Ok(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(blocks: Value) -> Message {
        Message {
            ts: 1_700_000_000_000_100,
            blocks: Some(blocks),
            ..Message::default()
        }
    }

    fn click(action_id: &str, value: Option<&str>, option: Option<&str>) -> Click {
        Click {
            user: "U1".into(),
            channel: "C1".into(),
            ts: "1700000000.000100".into(),
            action_id: action_id.into(),
            value: value.map(str::to_string),
            selected_option: option.map(str::to_string),
        }
    }

    #[test]
    fn elements_are_found_in_actions_blocks_and_section_accessories() {
        let m = message(json!([
            {"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "hi"},
             "accessory": {"type": "button", "action_id": "more", "text": {"type": "plain_text", "text": "More"}}},
            {"type": "actions", "elements": [{"type": "button", "action_id": "go", "value": "1"}]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "no action here", "action_id": "ctx"}]},
        ]));
        assert_eq!(element(&m, "more").map(|(b, _)| b), Some("s".to_string()));
        let (block, go) = element(&m, "go").expect("in the actions block");
        assert!(!block.is_empty(), "a block without an id gets one");
        assert_eq!(go["value"], "1");
        assert!(
            element(&m, "ctx").is_none(),
            "context blocks hold nothing clickable"
        );
        assert!(element(&m, "nope").is_none());
    }

    #[test]
    fn a_button_keeps_its_value_and_a_select_takes_one_of_its_options() {
        let button = json!({"type": "button", "action_id": "b", "value": "v",
                            "text": {"type": "plain_text", "text": "Go"}});
        let a = action(&button, "blk", &click("b", None, None), 5).unwrap();
        assert_eq!(a["value"], "v");
        assert_eq!(a["text"]["text"], "Go");
        assert_eq!(a["type"], "button");
        assert!(action(&button, "blk", &click("b", Some("v"), None), 5).is_ok());
        let err = |r: Result<Value, Refusal>| r.unwrap_err().error;
        assert_eq!(
            err(action(&button, "blk", &click("b", Some("w"), None), 5)),
            "value_mismatch"
        );
        assert_eq!(
            err(action(&button, "blk", &click("b", None, Some("v")), 5)),
            "no_such_option"
        );

        let select = json!({"type": "static_select", "action_id": "s",
            "placeholder": {"type": "plain_text", "text": "Pick"},
            "options": [{"text": {"type": "plain_text", "text": "One"}, "value": "1"}],
            "option_groups": [{"label": {"type": "plain_text", "text": "More"},
                "options": [{"text": {"type": "plain_text", "text": "Two"}, "value": "2"}]}]});
        let a = action(&select, "blk", &click("s", None, Some("2")), 5).unwrap();
        assert_eq!(
            a["selected_option"],
            json!({"text": {"type": "plain_text", "text": "Two"}, "value": "2"})
        );
        assert_eq!(a["placeholder"]["text"], "Pick");
        assert!(a.get("value").is_none() && a.get("text").is_none());
        assert_eq!(
            err(action(&select, "blk", &click("s", None, Some("3")), 5)),
            "no_such_option"
        );
        assert_eq!(
            err(action(&select, "blk", &click("s", None, None), 5)),
            "no_such_option"
        );
        assert_eq!(
            err(action(&select, "blk", &click("s", Some("1"), None), 5)),
            "value_mismatch"
        );

        let date = json!({"type": "datepicker", "action_id": "d"});
        assert_eq!(
            err(action(&date, "blk", &click("d", None, None), 5)),
            "unsupported_element"
        );
    }
}
