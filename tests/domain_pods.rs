//! Which channels are pods: keyed by channel id, so a rename relabels a pod and never
//! makes it another; and the incident channels swarmdeck promoted swarms to (the bot is a
//! member of those too) never become pods, whatever their name.

use swarmdeck::domain::{Author, Desk, DeskConfig, Input, Marker, MarkerKind, Msg, Pod, Ts};

const API: &str = "C0SWARMAPI";
const WAR_ROOM: &str = "C0WARROOM1";

fn t(secs: i64) -> Ts {
    Ts::from_secs(1_700_000_000 + secs)
}

fn post(channel: &str, at: i64, thread: Option<i64>, author: Author, text: &str) -> Msg {
    Msg {
        channel: channel.into(),
        ts: t(at),
        thread_ts: thread.map(t),
        author,
        text: text.into(),
        block_texts: vec![],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    }
}

fn request(channel: &str, at: i64, case: &str) -> Input {
    let text = format!("Case: {case}\nUrgency: Sev 1\nSubject: Login broken");
    Input::Message(post(
        channel,
        at,
        None,
        Author::Person("U0REQ00001".into()),
        &text,
    ))
}

fn promoted_to(channel_id: &str, name: &str) -> Input {
    let mut m = post(API, 20, Some(10), Author::Us, "promoted");
    m.marker = Some(Marker {
        lead: Some("U0LEAD0001".into()),
        kind: MarkerKind::Promoted {
            channel_id: channel_id.into(),
            channel_name: name.into(),
        },
    });
    Input::Message(m)
}

#[test]
fn an_incident_channel_with_an_edited_name_is_never_a_pod() {
    // A restart before the marker was read took the war room for a pod (its edited
    // name matches no template): the marker ends that, and a later listing adds nothing.
    let pods = [
        Pod::discovered(API, "swarm-api"),
        Pod::discovered(WAR_ROOM, "war-room-login"),
    ];
    let mut desk = Desk::new(DeskConfig::default(), pods);
    desk.apply(request(API, 10, "27343"), t(30));
    desk.apply(request(WAR_ROOM, 15, "27343"), t(30));
    assert_eq!(desk.pods().count(), 2);
    desk.apply(promoted_to(WAR_ROOM, "war-room-login"), t(30));
    let pods: Vec<&str> = desk.pods().map(|p| p.channel.as_str()).collect();
    assert_eq!(pods, [API]);
    assert_eq!(
        desk.swarms().filter(|s| s.channel == WAR_ROOM).count(),
        0,
        "a case number quoted in the war room is no swarm"
    );
    desk.add_pod(Pod::discovered(WAR_ROOM, "war-room-login"));
    assert_eq!(desk.pods().count(), 1, "still not a pod when listed again");
    // Its messages are followed as the incident channel's.
    let chat = post(
        WAR_ROOM,
        40,
        None,
        Author::Person("U0LEGAL001".into()),
        "legal here",
    );
    desk.apply(Input::Message(chat), t(41));
    let log: Vec<&str> = desk
        .channel_log(WAR_ROOM)
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(log.len(), 2, "the quoted request and the chat: {log:?}");
    assert!(log[1].contains("legal here"));
    desk.tick(t(10_000));
}

#[test]
fn the_same_holds_when_the_desk_is_restored_from_the_store() {
    let pods = [
        Pod::discovered(API, "swarm-api"),
        Pod::discovered(WAR_ROOM, "war-room-login"),
    ];
    let mut desk = Desk::new(DeskConfig::default(), pods);
    desk.restore(
        [
            request(API, 10, "27343"),
            request(WAR_ROOM, 15, "27343"),
            promoted_to(WAR_ROOM, "war-room-login"),
        ],
        t(30),
    );
    let pods: Vec<&str> = desk.pods().map(|p| p.channel.as_str()).collect();
    assert_eq!(pods, [API]);
    assert_eq!(desk.swarms().count(), 1);
}

#[test]
fn a_renamed_pod_stays_one_pod_with_its_swarms() {
    let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered(API, "swarm-api")]);
    desk.apply(request(API, 10, "27343"), t(30));
    let (id, name) = (API.to_string(), "swarm-api-eu".to_string());
    desk.apply(Input::ChannelNamed { id, name }, t(40));
    desk.add_pod(Pod::discovered(API, "swarm-api-eu"));
    let pods: Vec<(&str, &str)> = desk
        .pods()
        .map(|p| (p.channel.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(pods, [(API, "api")], "the pod keeps its name");
    assert_eq!(
        desk.channel_name(API),
        "swarm-api-eu",
        "the label follows Slack"
    );
    let s = desk.swarms().next().unwrap();
    assert_eq!((s.channel.as_str(), s.pod.as_str()), (API, "api"));
}
