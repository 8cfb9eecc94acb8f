//! swarmdeck's wire types against every real Slack payload in `../shared/slack-fixtures/`.
//! The fixtures are others' files and are not copied here; where the folder is absent
//! (a user's clone) the test says it skipped.

use serde_json::Value;
use std::path::PathBuf;
use swarmdeck::slack::wire::{self, Block, DisconnectReason, Event, Frame, RichBlock, RichInline};

fn fixtures() -> Option<Vec<(String, String)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/slack-fixtures");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(&n)).unwrap();
            (n, text)
        })
        .collect();
    files.sort();
    Some(files)
}

fn event_of(name: &str, text: &str) -> Event {
    let value: Value = serde_json::from_str(text).unwrap();
    if value.get("event").is_some() {
        let cb: wire::EventCallback =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        // *_shape fixtures mask every value; the others carry real ids.
        assert!(
            name.contains("_shape") || !cb.event_id.is_empty(),
            "{name}: event_id"
        );
        cb.event
    } else {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn message(name: &str, event: Event) -> wire::Message {
    match event {
        Event::Message(m) => *m,
        other => panic!("{name}: expected a message, got {other:?}"),
    }
}

#[test]
fn every_fixture_decodes_as_what_it_is() {
    let Some(files) = fixtures() else {
        eprintln!("skipped: ../shared/slack-fixtures is not beside this clone");
        return;
    };
    assert!(!files.is_empty());
    for (name, text) in &files {
        let name = name.as_str();
        match name {
            n if n.starts_with("sm_hello") => {
                assert!(matches!(wire::decode(text), Ok(Frame::Hello { .. })), "{n}")
            }
            n if n.starts_with("sm_disconnect") => {
                let Ok(Frame::Disconnect { reason }) = wire::decode(text) else {
                    panic!("{n}")
                };
                let want = if n.contains("warning") {
                    DisconnectReason::Warning
                } else if n.contains("refresh") {
                    DisconnectReason::RefreshRequested
                } else {
                    DisconnectReason::TooManyWebsockets
                };
                assert_eq!(reason, want, "{n}");
            }
            n if n.starts_with("sm_envelope_events_api") => {
                let Ok(Frame::EventsApi(envelope)) = wire::decode(text) else {
                    panic!("{n}")
                };
                assert!(!envelope.envelope_id.is_empty());
                let cb = envelope
                    .parse_callback()
                    .unwrap_or_else(|e| panic!("{n}: {e}"));
                match cb.event {
                    Event::Message(m) => assert!(m.channel.is_some() && m.ts.is_some(), "{n}"),
                    // app_mention is not a subscription of swarmdeck's: tolerated as Other.
                    Event::Other => assert!(text.contains("app_mention"), "{n}"),
                    other => panic!("{n}: {other:?}"),
                }
            }
            n if n.starts_with("sm_envelope_interactive") => {
                // A click is queued like an event; a shortcut is acked and not used.
                let Ok(Frame::Interactive(envelope)) = wire::decode(text) else {
                    panic!("{n}")
                };
                assert!(!envelope.envelope_id.is_empty());
                let click = envelope
                    .parse_interactive()
                    .unwrap_or_else(|e| panic!("{n}: {e:?}"));
                match click {
                    Some(b) => {
                        assert!(n.contains("block_actions"), "{n}");
                        assert!(!b.user.id.is_empty() && b.container.message_ts.is_some());
                        assert_eq!(b.actions.len(), 1, "{n}");
                        assert!(b.actions[0].value.is_some() && b.message.is_some(), "{n}");
                    }
                    None => assert!(n.contains("shortcut"), "{n}"),
                }
            }
            n if n.starts_with("sm_envelope_") => {
                // Slash commands: acked, not used.
                let Ok(Frame::Other {
                    envelope_id: Some(id),
                    ..
                }) = wire::decode(text)
                else {
                    panic!("{n}")
                };
                assert!(!id.is_empty());
            }
            "ev_app_mention.json" => assert!(matches!(event_of(name, text), Event::Other)),
            "ev_channel_created_inner.json" => {
                let Event::ChannelCreated { channel } = event_of(name, text) else {
                    panic!("{name}")
                };
                assert_eq!(channel.name, "fun");
            }
            "ev_member_joined_channel.json" => {
                assert!(matches!(
                    event_of(name, text),
                    Event::MemberJoinedChannel {
                        inviter: Some(_),
                        ..
                    }
                ))
            }
            "ev_reaction_added.json" => {
                let Event::ReactionAdded(r) = event_of(name, text) else {
                    panic!("{name}")
                };
                assert_eq!(r.reaction, "heart_eyes");
                assert!(r.item.channel.is_some() && r.item.ts.is_some());
            }
            "ev_reaction_removed_shape.json" => {
                assert!(matches!(event_of(name, text), Event::ReactionRemoved(_)))
            }
            "ev_message_changed.json" | "ev_message_changed_by_bot.json" => {
                let m = message(name, event_of(name, text));
                assert_eq!(m.subtype.as_deref(), Some("message_changed"));
                let now = m.message.expect("the new message");
                let before = m.previous_message.expect("the old message");
                assert_ne!(now.text, before.text, "{name}");
                assert!(now.edited.is_some(), "{name}");
            }
            "ev_message_deleted.json" => {
                let m = message(name, event_of(name, text));
                assert_eq!(m.subtype.as_deref(), Some("message_deleted"));
                assert!(m.deleted_ts.is_some() && m.previous_message.is_some());
            }
            "ev_message_thread_broadcast.json" => {
                let m = message(name, event_of(name, text));
                assert_eq!(m.subtype.as_deref(), Some("thread_broadcast"));
                assert!(m.thread_ts.is_some());
                assert_eq!(m.root.expect("the root").reply_count, Some(17));
            }
            "ev_message_subtype_bot_message.json" => {
                let m = message(name, event_of(name, text));
                assert_eq!(
                    (m.subtype.as_deref(), m.bot_id.is_some()),
                    (Some("bot_message"), true)
                );
            }
            "ev_message_bot_with_bot_profile.json" => {
                let m = message(name, event_of(name, text));
                assert!(m.subtype.is_none() && m.bot_id.is_some());
            }
            "ev_message_user_rich_text.json" => {
                let m = message(name, event_of(name, text));
                assert!(m.user.is_some());
                assert!(
                    m.blocks.iter().any(|b| matches!(b, Block::RichText { .. })),
                    "{name}"
                );
            }
            "block_rich_text_all_elements.json" => {
                let block: Block = serde_json::from_str(text).unwrap();
                let Block::RichText { elements } = block else {
                    panic!("{name}")
                };
                assert_eq!(elements.len(), 4);
                assert!(matches!(elements[1], RichBlock::List { .. }));
                assert!(matches!(elements[2], RichBlock::Preformatted { .. }));
                assert!(matches!(elements[3], RichBlock::Quote { .. }));
                let RichBlock::Section { elements: inline } = &elements[0] else {
                    panic!("{name}")
                };
                assert!(
                    inline.iter().all(|e| !matches!(e, RichInline::Other)),
                    "every inline kind is typed: {inline:?}"
                );
            }
            "web_auth_test.json" => {
                let auth: wire::AuthTest = serde_json::from_str(text).unwrap();
                assert_eq!(auth.bot_id.as_deref(), Some("B111"));
            }
            "web_apps_connections_open.json" => {
                let open: wire::ConnectionsOpen = serde_json::from_str(text).unwrap();
                assert!(open.url.starts_with("ws"));
            }
            "web_conversations_history_page.json" | "web_conversations_replies_thread.json" => {
                let page: wire::MessagePage = serde_json::from_str(text).unwrap();
                assert!(!page.messages.is_empty());
                assert!(page.messages.iter().all(|m| m.ts.is_some()), "{name}");
                if name.contains("history") {
                    assert!(page.has_more && !page.response_metadata.next_cursor.is_empty());
                    assert!(page.messages.iter().any(|m| m.reply_count == Some(2)));
                    assert!(page.messages.iter().any(|m| !m.reactions.is_empty()));
                } else {
                    assert!(
                        page.messages[1..]
                            .iter()
                            .all(|m| m.thread_ts == page.messages[0].ts)
                    );
                }
            }
            "web_conversations_list_page_with_cursor.json" => {
                let page: wire::ChannelPage = serde_json::from_str(text).unwrap();
                assert_eq!(page.response_metadata.next_cursor, "has_page2");
            }
            n if n.starts_with("web_error") => {
                let v: Value = serde_json::from_str(text).unwrap();
                assert_eq!(v["ok"], false);
                assert!(v["error"].is_string());
            }
            other => panic!("a fixture this test does not know yet: {other}"),
        }
    }
}

/// The same payloads one step further: translated for the desk, and applied to a desk
/// whose pod is the fixtures' channel. None of them is a swarm request (no case field),
/// so the desk must stay empty, and none may panic it.
#[test]
fn every_event_fixture_translates_for_the_desk() {
    use swarmdeck::domain::{Author, Desk, DeskConfig, Input, Pod, Ts};
    use swarmdeck::slack::translate::{Translator, block_texts};

    let Some(files) = fixtures() else {
        eprintln!("skipped: ../shared/slack-fixtures is not beside this clone");
        return;
    };
    let t = Translator::from_ids("U0SWARMBOT", Some("B0SWARMBOT"));
    let mut desk = Desk::new(
        DeskConfig::default(),
        [Pod::discovered("C111", "swarm-api")],
    );
    let now = Ts::from_secs(1_700_000_000);
    for (name, text) in &files {
        let name = name.as_str();
        if !name.starts_with("ev_") {
            continue;
        }
        let inputs = t.translate(&event_of(name, text));
        match (name, inputs.as_slice()) {
            ("ev_message_subtype_bot_message.json", [Input::Message(m)])
            | ("ev_message_bot_with_bot_profile.json", [Input::Message(m)]) => {
                assert!(
                    matches!(m.author, Author::Bot { bot_id: Some(_) }),
                    "{name}"
                );
            }
            ("ev_message_user_rich_text.json", [Input::Message(m)]) => {
                assert_eq!(m.author, Author::Person("W111".into()));
                assert!(
                    m.block_texts
                        .iter()
                        .any(|b| b.contains("Thanks for sharing")),
                    "{:?}",
                    m.block_texts
                );
            }
            ("ev_message_changed.json", [Input::Message(m)]) => {
                // The new version has no ts of its own here: it comes from the old one.
                assert_eq!(m.ts, Ts::parse("1665102338.901939").unwrap());
                assert_eq!(m.text, "updated message");
                assert!(m.edited.is_some());
            }
            ("ev_message_changed_by_bot.json", [Input::Message(m)]) => {
                assert!(m.edited.is_some() && matches!(m.author, Author::Bot { .. }));
            }
            ("ev_message_deleted.json", [Input::Deleted { ts, .. }]) => {
                assert_eq!(*ts, Ts::parse("1665368619.804829").unwrap());
            }
            ("ev_message_thread_broadcast.json", [Input::Message(m)]) => {
                assert!(m.is_reply(), "a broadcast reply belongs to its thread");
            }
            (
                "ev_reaction_added.json",
                [
                    Input::Reaction {
                        added: true,
                        name: r,
                        at: Some(_),
                        ..
                    },
                ],
            ) => {
                assert_eq!(r, "heart_eyes");
            }
            ("ev_reaction_removed_shape.json", [Input::Reaction { added: false, .. }] | []) => {}
            ("ev_channel_created_inner.json", [Input::ChannelNamed { name: n, .. }]) => {
                assert_eq!(n, "fun")
            }
            ("ev_member_joined_channel.json" | "ev_app_mention.json", []) => {}
            (name, got) => panic!("{name}: unexpected translation {got:?}"),
        }
        for input in inputs {
            assert!(
                desk.apply(input, now).is_empty(),
                "{name}: no request, no lifecycle"
            );
        }
    }
    assert_eq!(desk.swarms().count(), 0);
    let block: Block = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/slack-fixtures/block_rich_text_all_elements.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let texts = block_texts(&[block]);
    assert_eq!(texts.len(), 1, "a rich text block is one text");
    assert!(
        texts[0].lines().count() >= 4,
        "sections, list items, code and quote on their own lines: {texts:?}"
    );
}
