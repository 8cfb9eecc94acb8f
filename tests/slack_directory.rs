//! swarmdeck's directory reads (people, presence, permalinks, experts) against the
//! emulator, checked against the emulator's own answers read raw.

mod common;

use common::{APP, BOT, Emu, quiet};
use std::collections::BTreeSet;
use swarmdeck::slack::directory::{self, ExpertSources};
use swarmdeck::slack::{SlackError, Token, WebClient, WebPolicy};

fn client(emu: &Emu) -> WebClient {
    WebClient::new(
        &emu.running.api_url(),
        Token::new(BOT),
        Some(Token::new(APP)),
        WebPolicy::default(),
    )
    .expect("a client")
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|u| u.as_str().expect("an id").to_string())
        .collect()
}

#[tokio::test]
async fn people_names_presence_and_permalinks() {
    let emu = quiet().await;
    let web = client(&emu);

    let people = directory::people(&web).await.unwrap();
    let raw = emu.ok("users.list", &[("limit", "1000")]).await;
    assert_eq!(people.len(), raw["members"].as_array().unwrap().len());
    let lead = directory::person(&web, "U0LEAD0001").await.unwrap();
    assert!(people.contains(&lead), "{lead:?} is among everyone");
    assert!(!lead.name.is_empty() && lead.name != lead.id, "{lead:?}");
    let err = directory::person(&web, "U0NOBODY").await.unwrap_err();
    assert_eq!(err.slack_error(), Some("user_not_found"));

    for user in ["U0LEAD0001", "U0EXP00001", "U0EXP00002"] {
        let raw = emu.ok("users.getPresence", &[("user", user)]).await;
        assert_eq!(
            directory::is_active(&web, user).await.unwrap(),
            raw["presence"] == "active"
        );
    }

    let posted = emu
        .ok(
            "chat.postMessage",
            &[("channel", "C0SWARMAPI"), ("text", "a thread to link to")],
        )
        .await;
    let ts = posted["ts"].as_str().unwrap();
    let raw = emu
        .ok(
            "chat.getPermalink",
            &[("channel", "C0SWARMAPI"), ("message_ts", ts)],
        )
        .await;
    assert_eq!(
        directory::permalink(&web, "C0SWARMAPI", ts).await.unwrap(),
        raw["permalink"].as_str().unwrap()
    );
    assert!(matches!(
        directory::permalink(&web, "C0SWARMAPI", "1.000001").await,
        Err(SlackError::Api { .. })
    ));
}

#[tokio::test]
async fn experts_come_from_the_config_and_each_pods_group() {
    let emu = quiet().await;
    let web = client(&emu);
    let api = ids(&emu
        .ok("usergroups.users.list", &[("usergroup", "S0EXPAPI")])
        .await["users"]);
    let billing = ids(&emu
        .ok("usergroups.users.list", &[("usergroup", "S0EXPBIL")])
        .await["users"]);
    assert!(!api.is_empty() && !billing.is_empty());
    let sources = ExpertSources {
        pods: vec![
            // By convention (<product>-experts), by configured handle, and a group that
            // is not there (logged, skipped).
            ("api".into(), "swarm-api".into(), None),
            (
                "billing".into(),
                "swarm-billing".into(),
                Some("@billing-experts".into()),
            ),
            (
                "mobile".into(),
                "swarm-mobile".into(),
                Some("S0NOPE".into()),
            ),
        ],
        named: vec![
            ("U0LEAD0001".into(), vec!["triage".into()]),
            (api[0].clone(), vec!["sso".into()]),
        ],
    };
    let experts = directory::experts(&web, &sources).await;
    assert_eq!(experts["U0LEAD0001"], ["triage"]);
    assert_eq!(experts[&api[0]], ["api", "sso"], "the product comes first");
    for user in &api {
        assert_eq!(experts[user][0], "api", "{user}");
    }
    for user in &billing {
        assert!(experts[user].contains(&"billing".to_string()), "{user}");
    }
    assert!(
        experts.values().all(|s| !s.contains(&"mobile".to_string())),
        "no group, no mobile experts"
    );
    let lead = "U0LEAD0001".to_string();
    let expected: BTreeSet<&String> = api
        .iter()
        .chain(&billing)
        .chain(std::iter::once(&lead))
        .collect();
    assert_eq!(experts.keys().collect::<BTreeSet<_>>(), expected);
}
