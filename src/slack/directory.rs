//! Who is who in the workspace: people and their names, experts from user groups,
//! presence, and permalinks. Typed answers only; a field Slack must send and did not is
//! an error, never an empty name or link.

use super::translate::display_name;
use super::web::{SlackError, WebClient};
use super::wire::{
    GroupMembers, Permalink, Presence, User, UserGroup, UserGroups, UserInfo, UserPage,
};
use std::collections::BTreeMap;

/// A person as the desk shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: String,
}

impl From<&User> for Person {
    fn from(user: &User) -> Self {
        Person {
            id: user.id.clone(),
            name: display_name(user),
        }
    }
}

/// Everyone in the workspace (users.list, every page): one paged call beats a users.info
/// per person.
pub async fn people(web: &WebClient) -> Result<Vec<Person>, SlackError> {
    let users = web
        .pages::<UserPage>("users.list", &[("limit", "200".to_string())])
        .await?;
    Ok(users.iter().map(Person::from).collect())
}

/// One person (users.info), for someone the desk has not met yet.
pub async fn person(web: &WebClient, user: &str) -> Result<Person, SlackError> {
    let info: UserInfo = web
        .call("users.info", &[("user", user.to_string())])
        .await?;
    Ok(Person::from(&info.user))
}

/// Whether Slack shows the person as active now (users.getPresence).
pub async fn is_active(web: &WebClient, user: &str) -> Result<bool, SlackError> {
    let presence: Presence = web
        .call("users.getPresence", &[("user", user.to_string())])
        .await?;
    Ok(presence.presence == "active")
}

/// A message's link in Slack (chat.getPermalink).
pub async fn permalink(web: &WebClient, channel: &str, ts: &str) -> Result<String, SlackError> {
    let answer: Permalink = web
        .call(
            "chat.getPermalink",
            &[
                ("channel", channel.to_string()),
                ("message_ts", ts.to_string()),
            ],
        )
        .await?;
    Ok(answer.permalink)
}

/// Where experts come from.
#[derive(Clone, Debug, Default)]
pub struct ExpertSources {
    /// Per pod: (product, pod name, configured user group: an id `S…` or a handle;
    /// `None`: look for `<product>-experts` or `<pod>-experts`).
    pub pods: Vec<(String, String, Option<String>)>,
    /// Experts named in the config, with their skills.
    pub named: Vec<(String, Vec<String>)>,
}

/// Experts and their skills (user id → skills): the config's, and each pod's user group,
/// whose members get the pod's product as their first skill. A user group that cannot be
/// read is logged and skipped: the desk still works with the experts it has.
pub async fn experts(web: &WebClient, sources: &ExpertSources) -> BTreeMap<String, Vec<String>> {
    let mut skills: BTreeMap<String, Vec<String>> = sources.named.iter().cloned().collect();
    let groups = match web.call::<UserGroups>("usergroups.list", &[]).await {
        Ok(list) => list.usergroups,
        Err(e) => {
            tracing::warn!(error = %e, "usergroups.list failed; experts from the config only");
            Vec::new()
        }
    };
    for (product, pod, configured) in &sources.pods {
        let Some(group) = group_for(&groups, product, pod, configured.as_deref()) else {
            if configured.is_some() {
                tracing::warn!(pod, group = ?configured, "no such user group");
            }
            continue;
        };
        let members = web
            .call::<GroupMembers>("usergroups.users.list", &[("usergroup", group.id.clone())])
            .await;
        match members {
            Ok(members) => {
                for user in members.users {
                    give_skill(skills.entry(user).or_default(), product);
                }
            }
            Err(e) => tracing::warn!(pod, error = %e, "usergroups.users.list failed"),
        }
    }
    skills
}

/// The members of stakeholder user groups by handle (`legal`, `@comms`, or an id), for
/// the promotions that invite them. A group Slack does not have, or cannot list, is
/// logged and left out: the promotion still invites the swarm's own people.
pub async fn group_members(web: &WebClient, handles: &[String]) -> Vec<(String, Vec<String>)> {
    if handles.is_empty() {
        return Vec::new();
    }
    let groups = match web.call::<UserGroups>("usergroups.list", &[]).await {
        Ok(list) => list.usergroups,
        Err(e) => {
            tracing::warn!(error = %e, "usergroups.list failed; no stakeholders are invited");
            return Vec::new();
        }
    };
    let mut found = Vec::new();
    for handle in handles {
        let wanted = handle.trim_start_matches('@');
        let Some(group) = groups.iter().find(|g| g.handle == wanted || g.id == wanted) else {
            tracing::warn!(
                group = wanted,
                "no such user group for [pods.promote] invite_groups"
            );
            continue;
        };
        match web
            .call::<GroupMembers>("usergroups.users.list", &[("usergroup", group.id.clone())])
            .await
        {
            Ok(m) => found.push((wanted.to_string(), m.users)),
            Err(e) => tracing::warn!(group = wanted, error = %e, "usergroups.users.list failed"),
        }
    }
    found
}

/// The pod's user group: the configured one (by id or handle, an `@` allowed), else
/// `<product>-experts` or `<pod>-experts`; the first in Slack's list that matches.
fn group_for<'a>(
    groups: &'a [UserGroup],
    product: &str,
    pod: &str,
    configured: Option<&str>,
) -> Option<&'a UserGroup> {
    let wanted: Vec<String> = match configured {
        Some(g) => vec![g.trim_start_matches('@').to_string()],
        None => vec![format!("{product}-experts"), format!("{pod}-experts")],
    };
    groups
        .iter()
        .find(|g| wanted.iter().any(|w| g.id == *w || g.handle == *w))
}

/// The pod's product leads an expert's skills: it is what the desk matches on first.
fn give_skill(skills: &mut Vec<String>, product: &str) {
    if !skills.iter().any(|s| s == product) {
        skills.insert(0, product.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, handle: &str) -> UserGroup {
        UserGroup {
            id: id.into(),
            handle: handle.into(),
        }
    }

    #[test]
    fn a_pod_finds_its_group_by_config_or_by_convention() {
        let groups = [
            group("S1", "api-experts"),
            group("S2", "payments-experts"),
            group("S3", "oncall"),
        ];
        let id = |g: Option<&UserGroup>| g.map(|g| g.id.clone());
        // By convention: the product's handle, or the pod's.
        assert_eq!(
            id(group_for(&groups, "api", "api", None)),
            Some("S1".into())
        );
        assert_eq!(
            id(group_for(&groups, "billing", "payments", None)),
            Some("S2".into())
        );
        assert_eq!(id(group_for(&groups, "mobile", "mobile", None)), None);
        // Configured: by handle (with or without @) or by id, and only that one.
        assert_eq!(
            id(group_for(&groups, "api", "api", Some("@oncall"))),
            Some("S3".into())
        );
        assert_eq!(
            id(group_for(&groups, "api", "api", Some("S2"))),
            Some("S2".into())
        );
        assert_eq!(id(group_for(&groups, "api", "api", Some("nope"))), None);
    }

    #[test]
    fn the_first_group_in_slacks_list_wins() {
        // Both conventions match: Slack's order decides, as it always did.
        let groups = [group("S9", "core-experts"), group("S1", "api-experts")];
        assert_eq!(
            group_for(&groups, "api", "core", None).map(|g| g.id.as_str()),
            Some("S9")
        );
    }

    #[test]
    fn the_product_becomes_the_first_skill_once() {
        let mut skills = vec!["sso".to_string()];
        give_skill(&mut skills, "api");
        give_skill(&mut skills, "api");
        assert_eq!(skills, ["api", "sso"]);
        let mut skills = vec!["sso".to_string(), "api".to_string()];
        give_skill(&mut skills, "api");
        assert_eq!(
            skills,
            ["sso", "api"],
            "a skill already there stays where it is"
        );
    }
}
