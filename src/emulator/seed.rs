//! The seeded support organisation every emulator starts with.
//!
//! Fixed names so that scripts and tests can rely on them (DESIGN §3); the seed only
//! varies what a real org varies from day to day, such as who is online.

use super::rng::{Rng, Stream};
use super::world::{App, Channel, Role, Team, TextField, User, UserGroup, World};

/// The pods every seed has: (channel id, channel name, product, usergroup id, handle).
pub(crate) const PODS: [(&str, &str, &str, &str, &str); 4] = [
    ("C0SWARMAPI", "swarm-api", "api", "S0EXPAPI", "api-experts"),
    (
        "C0SWARMBIL",
        "swarm-billing",
        "billing",
        "S0EXPBIL",
        "billing-experts",
    ),
    (
        "C0SWARMMOB",
        "swarm-mobile",
        "mobile",
        "S0EXPMOB",
        "mobile-experts",
    ),
    (
        "C0SWARMDAT",
        "swarm-data",
        "data",
        "S0EXPDAT",
        "data-experts",
    ),
];

/// Stakeholder user groups a promotion may invite (`[pods.promote] invite_groups`):
/// (usergroup id, handle, name, the requesters in it). Max is in both, so a test can see
/// a person invited once.
pub(crate) const STAKEHOLDER_GROUPS: [(&str, &str, &str, &[usize]); 2] = [
    ("S0LEGAL01", "legal", "Legal", &[0, 1, 2]),
    ("S0COMMS01", "comms", "Communications", &[2, 3]),
];

pub(crate) const GENERAL_ID: &str = "C0GENERAL1";
pub(crate) const LEAD_ID: &str = "U0LEAD0001";
pub(crate) const WORKFLOW_BOT_ID: &str = "B0WORKFLOW";

const TIMEZONES: [(&str, &str, i64); 5] = [
    ("America/New_York", "Eastern Standard Time", -18_000),
    ("America/Los_Angeles", "Pacific Standard Time", -28_800),
    ("Europe/Dublin", "Greenwich Mean Time", 0),
    ("Europe/Berlin", "Central European Time", 3_600),
    ("Asia/Singapore", "Singapore Standard Time", 28_800),
];

/// (handle, full name, pod product, extra skills).
const EXPERTS: [(&str, &str, &str, &str); 24] = [
    ("priya.raman", "Priya Raman", "api", "auth,oauth"),
    ("tomas.ek", "Tomas Ek", "api", "webhooks,rate-limits"),
    ("amara.okafor", "Amara Okafor", "api", "sdk,graphql"),
    ("li.wei", "Li Wei", "api", "gateway,latency"),
    ("jonas.weber", "Jonas Weber", "api", "auth,sso"),
    ("sofia.marin", "Sofia Marin", "api", "webhooks,sdk"),
    ("grace.hall", "Grace Hall", "billing", "invoices,tax"),
    ("mateo.silva", "Mateo Silva", "billing", "refunds,payments"),
    (
        "hana.sato",
        "Hana Sato",
        "billing",
        "subscriptions,proration",
    ),
    (
        "oliver.brandt",
        "Oliver Brandt",
        "billing",
        "payments,fraud",
    ),
    ("nia.adeyemi", "Nia Adeyemi", "billing", "tax,compliance"),
    ("ravi.kumar", "Ravi Kumar", "billing", "invoices,dunning"),
    ("elena.petrova", "Elena Petrova", "mobile", "ios,push"),
    ("sam.oconnor", "Sam O'Connor", "mobile", "android,crashes"),
    ("yuki.tanaka", "Yuki Tanaka", "mobile", "ios,sso"),
    ("marcus.jones", "Marcus Jones", "mobile", "android,push"),
    (
        "ines.duarte",
        "Ines Duarte",
        "mobile",
        "offline-sync,crashes",
    ),
    ("kofi.mensah", "Kofi Mensah", "mobile", "deep-links,ios"),
    ("anna.kowalski", "Anna Kowalski", "data", "exports,etl"),
    ("david.levi", "David Levi", "data", "warehouse,sql"),
    ("chen.jie", "Chen Jie", "data", "pipelines,latency"),
    ("fatima.zahra", "Fatima Zahra", "data", "gdpr,exports"),
    ("lucas.moreau", "Lucas Moreau", "data", "dashboards,sql"),
    ("aisha.bello", "Aisha Bello", "data", "etl,warehouse"),
];

const REQUESTERS: [(&str, &str); 8] = [
    ("kim.agent", "Kim Park"),
    ("jo.agent", "Jo Alvarez"),
    ("max.agent", "Max Lindqvist"),
    ("ada.agent", "Ada Nwosu"),
    ("ben.agent", "Ben Cohen"),
    ("lea.agent", "Lea Fontaine"),
    ("raj.agent", "Raj Patel"),
    ("eva.agent", "Eva Novak"),
];

pub(crate) fn expert_id(i: usize) -> String {
    format!("U0EXP{:05}", i + 1)
}

pub(crate) fn expert_count() -> usize {
    EXPERTS.len()
}

/// Which seeded expert `id` is (the inverse of [`expert_id`]).
pub(crate) fn expert_index(id: &str) -> Option<usize> {
    let n: usize = id.strip_prefix("U0EXP")?.parse().ok()?;
    (1..=EXPERTS.len()).contains(&n).then(|| n - 1)
}

pub(crate) fn requester_id(i: usize) -> String {
    format!("U0REQ{:05}", i + 1)
}

pub(crate) fn requester_count() -> usize {
    REQUESTERS.len()
}

/// Experts whose home pod is `product`, by user id.
pub(crate) fn experts_of(product: &str) -> Vec<String> {
    EXPERTS
        .iter()
        .enumerate()
        .filter(|(_, e)| e.2 == product)
        .map(|(i, _)| expert_id(i))
        .collect()
}

/// The seeded workspace. `created` is the epoch second the channels claim to date from.
pub(crate) fn workspace(seed: u64, created: i64) -> World {
    let mut rng = Rng::new(seed, Stream::Workspace);
    let app = App {
        app_id: "A0SWARMDCK".into(),
        bot_user_id: "U0SWARMBOT".into(),
        bot_id: "B0SWARMBOT".into(),
        name: "swarmdeck".into(),
    };
    let team = Team {
        id: "T0ACMESUP".into(),
        name: "Acme Support".into(),
        domain: "acme-support".into(),
    };
    let mut world = World::new(team, app.clone());

    let mut person =
        |id: String, name: &str, real: &str, title: &str, role, skills: Vec<String>| {
            let (tz, label, offset) = *rng.pick(&TIMEZONES);
            User {
                id,
                name: name.into(),
                real_name: real.into(),
                title: title.into(),
                tz: tz.into(),
                tz_label: label.into(),
                tz_offset: offset,
                role,
                bot_id: None,
                presence_active: rng.chance(0.7),
                skills,
            }
        };
    let mut users = vec![person(
        LEAD_ID.into(),
        "dana.lead",
        "Dana Whitfield",
        "Swarm Lead, Global Support",
        Role::Lead,
        vec![],
    )];
    for (i, (handle, name, product, skills)) in EXPERTS.iter().enumerate() {
        let mut all = vec![product.to_string()];
        all.extend(skills.split(',').map(str::to_string));
        let title = format!("Senior Support Engineer, {}", capitalise(product));
        users.push(person(
            expert_id(i),
            handle,
            name,
            &title,
            Role::Expert,
            all,
        ));
    }
    for (i, (handle, name)) in REQUESTERS.iter().enumerate() {
        users.push(person(
            requester_id(i),
            handle,
            name,
            "Support Agent",
            Role::Requester,
            vec![],
        ));
    }
    users.push(bot_user(&app));
    world.users = users;

    let requesters: Vec<String> = (0..REQUESTERS.len()).map(requester_id).collect();
    for (id, name, product, group_id, handle) in PODS {
        let mut channel = Channel::new(id.into(), name.into(), LEAD_ID.into(), created);
        let experts = experts_of(product);
        channel.members.push(LEAD_ID.into());
        channel.members.extend(experts.iter().cloned());
        channel.members.extend(requesters.iter().cloned());
        channel.members.push(app.bot_user_id.clone());
        channel.topic = TextField {
            value: format!(
                "Swarm requests for {}: post with the Swarm Request workflow",
                capitalise(product)
            ),
            creator: LEAD_ID.into(),
            last_set: created,
        };
        channel.purpose = TextField {
            value: format!("Case swarming for the {product} pod"),
            creator: LEAD_ID.into(),
            last_set: created,
        };
        world.channels.push(channel);
        world.usergroups.push(UserGroup {
            id: group_id.into(),
            handle: handle.into(),
            name: format!("{} experts", capitalise(product)),
            description: format!("Experts who swarm {product} cases"),
            users: experts,
            created,
        });
    }
    for (id, handle, name, members) in STAKEHOLDER_GROUPS {
        world.usergroups.push(UserGroup {
            id: id.into(),
            handle: handle.into(),
            name: name.into(),
            description: format!("{name}: invited to incident channels by severity"),
            users: members.iter().map(|i| requester_id(*i)).collect(),
            created,
        });
    }
    let mut general = Channel::new(GENERAL_ID.into(), "general".into(), LEAD_ID.into(), created);
    general.is_general = true;
    general.members = world
        .users
        .iter()
        .filter(|u| u.role != Role::Bot)
        .map(|u| u.id.clone())
        .collect();
    world.channels.push(general);
    world
}

/// App `n` (2, 3, …) of a workspace seeded with several: another lead's swarmdeck,
/// with ids that name its number (`A0SWARM002`, `U0SWARM002`, `B0SWARM002`).
pub(crate) fn app(n: usize) -> App {
    App {
        app_id: format!("A0SWARM{n:03}"),
        bot_user_id: format!("U0SWARM{n:03}"),
        bot_id: format!("B0SWARM{n:03}"),
        name: format!("swarmdeck-{n}"),
    }
}

/// Installs apps 2..=`count` beside app 1: each bot user joins every channel app 1's
/// bot was seeded into (the pods), so every app sees every pod.
pub(crate) fn more_apps(world: &mut World, count: usize) {
    let first_bot = world.first_app().bot_user_id.clone();
    for n in 2..=count {
        let app = app(n);
        world.users.push(bot_user(&app));
        for channel in world
            .channels
            .iter_mut()
            .filter(|c| c.is_member(&first_bot))
        {
            channel.members.push(app.bot_user_id.clone());
        }
        world.apps.push(app);
    }
}

fn bot_user(app: &App) -> User {
    User {
        id: app.bot_user_id.clone(),
        name: app.name.clone(),
        real_name: app.name.clone(),
        title: String::new(),
        tz: "America/Los_Angeles".into(),
        tz_label: "Pacific Standard Time".into(),
        tz_offset: -28_800,
        role: Role::Bot,
        bot_id: Some(app.bot_id.clone()),
        presence_active: true,
        skills: vec![],
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named<'a>(world: &'a World, name: &str) -> &'a Channel {
        &world.channels[world.find_channel(name).expect("a seeded channel")]
    }

    #[test]
    fn the_seeded_org_is_what_design_promises() {
        let world = workspace(1, 1_700_000_000);
        let bot = &world.first_app().bot_user_id;
        for (_, name, ..) in PODS {
            let channel = named(&world, name);
            assert!(channel.is_member(bot), "bot in {name}");
        }
        assert!(!named(&world, "general").is_member(bot));
        let experts = world
            .users
            .iter()
            .filter(|u| u.role == Role::Expert)
            .count();
        assert!(experts >= 20);
        assert_eq!(
            world.usergroups.len(),
            PODS.len() + STAKEHOLDER_GROUPS.len()
        );
        assert!(world.users.iter().any(|u| u.role == Role::Lead));
    }

    #[test]
    fn more_apps_get_their_own_bots_in_the_pods_only() {
        let mut world = workspace(1, 0);
        more_apps(&mut world, 3);
        assert_eq!(world.apps.len(), 3);
        assert_eq!(world.apps[0].app_id, "A0SWARMDCK", "app 1 is unchanged");
        let third = &world.apps[2];
        assert_eq!(
            (third.app_id.as_str(), third.bot_user_id.as_str()),
            ("A0SWARM003", "U0SWARM003")
        );
        let user = world.user(&third.bot_user_id).expect("a bot user");
        assert_eq!(user.bot_id.as_deref(), Some("B0SWARM003"));
        for (_, name, ..) in PODS {
            assert!(named(&world, name).is_member("U0SWARM002"));
        }
        assert!(!named(&world, "general").is_member("U0SWARM002"));
    }

    #[test]
    fn expert_ids_map_back_to_their_index() {
        for i in [0, 5, EXPERTS.len() - 1] {
            assert_eq!(expert_index(&expert_id(i)), Some(i));
        }
        for other in ["U0EXP00000", "U0EXP00025", "U0LEAD0001", "U0EXPabc"] {
            assert_eq!(expert_index(other), None, "{other}");
        }
    }

    #[test]
    fn the_seed_varies_presence_but_not_names() {
        let a = workspace(1, 0);
        let b = workspace(2, 0);
        let names = |w: &World| w.users.iter().map(|u| u.name.clone()).collect::<Vec<_>>();
        let presence = |w: &World| {
            w.users
                .iter()
                .map(|u| u.presence_active)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(presence(&a), presence(&b));
        assert_eq!(presence(&a), presence(&workspace(1, 0)));
    }
}
