//! TEMPORARY (replaced by the typed directory on merge): people, experts, presence and
//! permalinks, read from Slack.

use super::{SlackError, WebClient, wire};
use std::collections::BTreeMap;

pub struct Person {
    pub id: String,
    pub name: String,
}

#[derive(serde::Deserialize)]
struct UserInfo {
    user: wire::User,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct UserPage {
    members: Vec<wire::User>,
    response_metadata: wire::ResponseMetadata,
}

pub async fn people(web: &WebClient) -> Result<Vec<Person>, SlackError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut params = vec![("limit", "200".to_string())];
        if !cursor.is_empty() {
            params.push(("cursor", cursor.clone()));
        }
        let page: UserPage = web.call("users.list", &params).await?;
        for user in &page.members {
            out.push(Person {
                id: user.id.clone(),
                name: super::translate::display_name(user),
            });
        }
        cursor = page.response_metadata.next_cursor;
        if cursor.is_empty() {
            return Ok(out);
        }
    }
}

pub async fn person(web: &WebClient, user: &str) -> Result<Person, SlackError> {
    let info: UserInfo = web
        .call("users.info", &[("user", user.to_string())])
        .await?;
    Ok(Person {
        id: info.user.id.clone(),
        name: super::translate::display_name(&info.user),
    })
}

pub async fn is_active(web: &WebClient, user: &str) -> Result<bool, SlackError> {
    let v: serde_json::Value = web
        .call("users.getPresence", &[("user", user.to_string())])
        .await?;
    Ok(v["presence"].as_str() == Some("active"))
}

pub async fn permalink(web: &WebClient, channel: &str, ts: &str) -> Result<String, SlackError> {
    let v: serde_json::Value = web
        .call(
            "chat.getPermalink",
            &[
                ("channel", channel.to_string()),
                ("message_ts", ts.to_string()),
            ],
        )
        .await?;
    Ok(v["permalink"].as_str().unwrap_or_default().to_string())
}

pub struct ExpertSources {
    pub pods: Vec<(String, String, Option<String>)>,
    pub named: Vec<(String, Vec<String>)>,
}

pub async fn experts(web: &WebClient, sources: &ExpertSources) -> BTreeMap<String, Vec<String>> {
    let mut skills: BTreeMap<String, Vec<String>> = sources.named.iter().cloned().collect();
    let groups: Vec<serde_json::Value> =
        match web.call::<serde_json::Value>("usergroups.list", &[]).await {
            Ok(v) => v["usergroups"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "usergroups.list failed; experts from the config only");
                Vec::new()
            }
        };
    for (product, pod, configured) in &sources.pods {
        let wanted: Vec<String> = match configured {
            Some(g) => vec![g.trim_start_matches('@').to_string()],
            None => vec![format!("{product}-experts"), format!("{pod}-experts")],
        };
        let Some(group) = groups.iter().find(|g| {
            wanted
                .iter()
                .any(|w| g["id"] == w.as_str() || g["handle"] == w.as_str())
        }) else {
            if configured.is_some() {
                tracing::warn!(pod, group = ?configured, "no such user group");
            }
            continue;
        };
        let id = group["id"].as_str().unwrap_or_default().to_string();
        match web
            .call::<serde_json::Value>("usergroups.users.list", &[("usergroup", id)])
            .await
        {
            Ok(v) => {
                for user in v["users"].as_array().into_iter().flatten() {
                    if let Some(user) = user.as_str() {
                        let s = skills.entry(user.to_string()).or_default();
                        if !s.iter().any(|x| x == product) {
                            s.insert(0, product.clone());
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(pod, error = %e, "usergroups.users.list failed"),
        }
    }
    skills
}
