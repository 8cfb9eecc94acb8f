//! Configuration: a TOML file (optional), the environment, and the command line. Tokens
//! alone are enough: with no file, every channel the bot is in is a pod. A mistake in the
//! file names the file, the line, the key and the fix; unknown keys are mistakes too.

use crate::domain::desk::DEFAULT_INCIDENT_TEMPLATE;
use crate::domain::intake::Field;
use crate::domain::naming::matches_template;
use crate::domain::{DeskConfig, IntakeRules, Pod, SlaPolicy, Urgency};
use crate::slack::{SlackConfig, Token, WebPolicy};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::slack::web::DEFAULT_API_URL;

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// The lead's own Slack user id: invited to incident channels, named in markers.
    pub lead: Option<String>,
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub slack: SlackSection,
    #[serde(default)]
    pub pods: Vec<PodSection>,
    #[serde(default)]
    pub experts: Vec<ExpertSection>,
    #[serde(default)]
    pub intake: IntakeSection,
    #[serde(default)]
    pub ui: UiSection,
    #[serde(default)]
    pub actions: ActionsSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub team: TeamSection,
    #[serde(default)]
    pub incident: IncidentSection,
    /// Key overrides: an action's name and its key or keys (`quit = ["q", "Ctrl-c"]`).
    #[serde(default)]
    pub keys: BTreeMap<String, Keys>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    /// Ring the terminal bell for a new Sev1 or a breach (default true).
    pub bell: Option<bool>,
    /// Capture the mouse: click a row, scroll with the wheel (default false, so the
    /// terminal's own selection works; with it on, Shift-drag selects text).
    pub mouse: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// History older than this is purged (default 180 days); open swarms are kept.
    pub retention: Option<Duration>,
}

/// Working beside other leads who run their own swarmdeck apps.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSection {
    /// Other leads' swarmdeck apps, by bot id (`B…`) or app id (`A…`): their markers
    /// count like our own.
    #[serde(default)]
    pub peer_bots: Vec<PeerBot>,
    /// The team bus, a NATS JetStream server (`nats://host:4222`, `tls://host:4222`);
    /// `SWARMDECK_TEAM_BUS` wins over it.
    pub bus: Option<BusUrl>,
    /// A NATS credentials file (`.creds`, from `nsc` or the server's operator).
    pub bus_credentials: Option<PathBuf>,
    /// A NATS auth token, when the server uses tokens rather than credentials.
    pub bus_token: Option<BusToken>,
    /// Refuse to talk to the bus without TLS (default false; `tls://` implies it).
    pub bus_tls: Option<bool>,
    /// How long the bus's stream keeps events (default 7 days; at least 1 hour).
    #[serde(default, deserialize_with = "at_least_an_hour")]
    pub bus_retention: Option<Duration>,
}

/// How long the bus's stream keeps events, unless the config says.
pub const DEFAULT_BUS_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// A stream that forgets within the hour would lose events over a lunch break.
fn at_least_an_hour<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let keep = Duration::deserialize(d)?;
    if keep.0 < std::time::Duration::from_secs(3600) {
        return Err(serde::de::Error::custom(format!(
            "`{}` is too short: a lead whose swarmdeck is down longer than this misses events, so it must be at least \"1h\"; write it like \"7d\" (the default)",
            humantime::format_duration(keep.0)
        )));
    }
    Ok(Some(keep))
}

/// A NATS server URL, its scheme checked when the file is read. Its `Debug` hides any
/// user and password in it (`nats://user:pass@host`).
#[derive(Clone, PartialEq, Eq)]
pub struct BusUrl(pub String);

impl fmt::Debug for BusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BusUrl({})", redact_userinfo(&self.0))
    }
}

impl<'de> Deserialize<'de> for BusUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let url = String::deserialize(d)?;
        check_bus_url(&url).map_err(serde::de::Error::custom)
    }
}

/// Checks a bus URL's scheme; `nats+tls://`, as some NATS clients write it, becomes the
/// `tls://` that async-nats understands. The error never repeats the URL (it may hold a
/// password), only its scheme.
fn check_bus_url(url: &str) -> Result<BusUrl, String> {
    let url = url.trim();
    let fix = "write it like \"nats://host:4222\" (or \"tls://host:4222\" for TLS)";
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("the team bus URL has no scheme; {fix}"));
    };
    let scheme = scheme.to_ascii_lowercase();
    let scheme = match scheme.as_str() {
        "nats" | "tls" => scheme.as_str(),
        "nats+tls" => "tls",
        other => {
            return Err(format!(
                "`{other}://` is not a NATS scheme: the team bus is a NATS server; {fix}"
            ));
        }
    };
    if rest.rsplit('@').next().is_none_or(|host| host.is_empty()) {
        return Err(format!("the team bus URL has no host; {fix}"));
    }
    Ok(BusUrl(format!("{scheme}://{rest}")))
}

/// `nats://user:pass@host` → `nats://…@host`, for logs and `Debug`.
pub fn redact_userinfo(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://…{}", &url[at..]),
        _ => url.to_string(),
    }
}

/// A NATS auth token: never shown (`Debug` says only that it is redacted).
#[derive(Clone)]
pub struct BusToken(pub Token);

impl fmt::Debug for BusToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BusToken(redacted)")
    }
}

impl<'de> Deserialize<'de> for BusToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        if value.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "the team bus token is empty; paste the NATS server's token, or remove the key",
            ));
        }
        Ok(BusToken(Token::new(value)))
    }
}

/// The team bus as `Settings::bus` hands it to the bus client.
#[derive(Clone)]
pub struct BusSettings {
    /// `nats://…` or `tls://…`, as async-nats accepts it.
    pub url: String,
    pub credentials: Option<PathBuf>,
    pub token: Option<Token>,
    pub require_tls: bool,
    /// How long the stream keeps events (`max_age`).
    pub retention: std::time::Duration,
}

impl fmt::Debug for BusSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusSettings")
            .field("url", &redact_userinfo(&self.url))
            .field("credentials", &self.credentials)
            .field("token", &self.token.as_ref().map(|_| "redacted"))
            .field("require_tls", &self.require_tls)
            .field("retention", &self.retention)
            .finish()
    }
}

/// A Slack bot id (`B…`) or app id (`A…`), checked when the file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerBot(pub String);

impl<'de> Deserialize<'de> for PeerBot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        check_peer_bot(&id).map_err(serde::de::Error::custom)?;
        Ok(PeerBot(id))
    }
}

fn check_peer_bot(id: &str) -> Result<(), String> {
    let well_formed = id.len() >= 3
        && id.starts_with(['A', 'B'])
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if well_formed {
        return Ok(());
    }
    let what = if id.starts_with('U') || id.starts_with('W') {
        "a user id, not a bot id (B…) or app id (A…)".to_string()
    } else if id != id.to_ascii_uppercase() {
        "not a bot id (B…) or app id (A…): Slack's ids are upper case".to_string()
    } else {
        "not a bot id (B…) or app id (A…)".to_string()
    };
    Err(format!(
        "`{id}` is {what}; copy it from the other lead's app (Basic Information → App ID, or the bot_id that auth.test answers with its bot token)"
    ))
}

/// How the lead's moves behave.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsSection {
    /// Archive a promoted swarm's incident channel when resolving it (default: ask).
    pub archive_incident: Option<ArchivePolicy>,
    /// Post a reminder in the thread, naming the assigned experts, when a follow-up
    /// falls due (default false: the row and the bell say so either way).
    pub remind_experts: Option<bool>,
    /// Where a shift handoff goes unless the lead types another place (`#channel`,
    /// a channel id, `@person` or a user id).
    pub handoff_to: Option<String>,
    /// `tell` (default): `a` assigns at once. `ask`: `a` asks the expert in a DM with
    /// Accept / Decline buttons, and the assignment waits for their answer.
    pub assign: Option<AssignMode>,
    /// The reaction by which an expert claims a request (`eyes`, 👀, by default; claims
    /// are on with `assign = "ask"` or when this is set, and `""` turns them off).
    pub claim_reaction: Option<String>,
    /// Post one nudge in the thread to an assigned expert who has been quiet past the
    /// pod's `quiet_after` (default false: the row and the header say so either way).
    pub nudge_quiet: Option<bool>,
}

impl ActionsSection {
    /// Claims by reaction are part of asking: on with `assign = "ask"` or a
    /// `claim_reaction` named, off otherwise (a lead who assigns by decree gets no posts
    /// they did not ask for), and off with `claim_reaction = ""`.
    pub fn claims_on(&self) -> bool {
        match self.claim_reaction.as_deref() {
            Some(r) => !r.trim_matches(':').is_empty(),
            None => self.assign == Some(AssignMode::Ask),
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssignMode {
    #[default]
    Tell,
    Ask,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchivePolicy {
    #[default]
    Ask,
    Always,
    Never,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Keys {
    One(String),
    Many(Vec<String>),
}

impl Keys {
    pub fn list(&self) -> Vec<String> {
        match self {
            Keys::One(k) => vec![k.clone()],
            Keys::Many(ks) => ks.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSection {
    pub app_token: Option<AppToken>,
    pub bot_token: Option<BotToken>,
    pub api_url: Option<String>,
    /// Speeds up swarmdeck's own rate budgets and backoff, to match an emulator run
    /// with `--time-scale`. For tests only.
    pub time_scale: Option<f64>,
    /// How often one connection is rotated to re-read `hello.num_connections`: the only
    /// way to learn of consumers that joined later (default 2 minutes).
    #[serde(default, deserialize_with = "at_least_a_second")]
    pub probe_every: Option<Duration>,
}

/// How often a connection is rotated to count consumers, unless the config says.
pub const DEFAULT_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(120);

/// A probe more often than this would spend its life reconnecting.
fn at_least_a_second<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let every = Duration::deserialize(d)?;
    if every.0 < std::time::Duration::from_secs(1) {
        return Err(serde::de::Error::custom(format!(
            "`{}` is too often: each probe reconnects, so it must be at least \"1s\"; write it like \"2m\" (the default)",
            humantime::format_duration(every.0)
        )));
    }
    Ok(Some(every))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSection {
    /// Channel name (`swarm-api`, with or without `#`) or id (`C0…`).
    pub channel: String,
    pub name: Option<String>,
    pub product: Option<String>,
    pub region: Option<String>,
    pub incident_template: Option<String>,
    /// The user group whose members are this pod's experts (`S0…` or its handle).
    pub expert_group: Option<String>,
    #[serde(default)]
    pub sla: BTreeMap<SevKey, SlaTargets>,
    /// Business hours: the clocks of the urgencies that follow them count open time only.
    pub hours: Option<HoursConfig>,
    /// Targets by customer tier: `tiers.premier.sev1 = { first_response = "5m" }`.
    #[serde(default)]
    pub tiers: BTreeMap<String, BTreeMap<SevKey, TierSla>>,
    #[serde(default)]
    pub promote: PromoteSection,
    /// Check this pod's new requests for likely duplicates of open swarms (default true).
    pub duplicates: Option<bool>,
    /// This pod's own stakeholder cadence, over the top-level `[incident]`.
    #[serde(default)]
    pub incident: IncidentSection,
}

/// One tier's targets for one urgency (unset: the pod's `sla`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSla {
    pub first_response: Option<Duration>,
    pub resolution: Option<Duration>,
}

/// A pod's `hours = { tz = "Europe/Berlin", weekdays = "mon-fri", open = "09:00",
/// close = "17:00", days = { fri = "09:00-15:00" }, holidays = ["2026-12-25"],
/// follow = ["sev2", "sev3", "sev4"] }`, checked as it is read so that a mistake
/// names its line.
#[derive(Debug)]
pub struct HoursConfig(pub crate::domain::hours::Hours);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursRaw {
    tz: String,
    weekdays: Option<String>,
    open: Option<String>,
    close: Option<String>,
    #[serde(default)]
    days: BTreeMap<String, String>,
    #[serde(default)]
    holidays: Vec<String>,
    follow: Option<Vec<SevKey>>,
}

impl<'de> Deserialize<'de> for HoursConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        HoursRaw::deserialize(d)?
            .check()
            .map(HoursConfig)
            .map_err(serde::de::Error::custom)
    }
}

impl HoursRaw {
    fn check(self) -> Result<crate::domain::hours::Hours, String> {
        use crate::domain::hours::{Hours, parse_clock, parse_weekday, parse_weekdays};
        let tz: chrono_tz::Tz = self.tz.parse().map_err(|_| {
            format!(
                "tz `{}` is not a time zone; write an IANA name like \"Europe/Berlin\" or \"America/New_York\"",
                self.tz
            )
        })?;
        let clock = |key: &str, v: Option<&str>, default: &str| {
            let v = v.unwrap_or(default);
            parse_clock(v).ok_or_else(|| {
                format!(
                    "{key} `{v}` is not a time of day; write it like \"09:00\" (00:00 to 24:00)"
                )
            })
        };
        let open = clock("open", self.open.as_deref(), "09:00")?;
        let close = clock("close", self.close.as_deref(), "17:00")?;
        let weekdays = self.weekdays.as_deref().unwrap_or("mon-fri");
        let days = parse_weekdays(weekdays).ok_or_else(|| {
            format!("weekdays `{weekdays}` names no days; write them like \"mon-fri\" or \"sun-thu\" or \"mon,wed,fri\"")
        })?;
        let mut week: [Option<(u32, u32)>; 7] = [None; 7];
        for (i, open_that_day) in days.iter().enumerate() {
            if *open_that_day {
                week[i] = Some((open, close));
            }
        }
        for (day, span) in &self.days {
            let i = parse_weekday(day).ok_or_else(|| {
                format!("days: `{day}` is not a weekday; write mon, tue, wed, thu, fri, sat or sun")
            })?;
            week[i] = if span.trim() == "closed" {
                None
            } else {
                let bad = || {
                    format!(
                        "days.{day} `{span}` is not opening hours; write it like \"09:00-15:00\" or \"closed\""
                    )
                };
                let (a, b) = span.split_once('-').ok_or_else(bad)?;
                Some((
                    parse_clock(a).ok_or_else(bad)?,
                    parse_clock(b).ok_or_else(bad)?,
                ))
            };
        }
        let mut holidays = std::collections::BTreeSet::new();
        for h in &self.holidays {
            let date = chrono::NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d").map_err(|_| {
                format!("holidays: `{h}` is not a date; write it like \"2026-12-25\"")
            })?;
            holidays.insert(date);
        }
        let mut hours = Hours::new(tz, week, holidays)?;
        if let Some(follow) = self.follow {
            hours.follow = [false; 4];
            for sev in follow {
                hours.follow[Urgency::from(sev) as usize] = true;
            }
        }
        Ok(hours)
    }
}

/// Promoted swarms' stakeholders (`[incident]`, and per pod `[pods.incident]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSection {
    /// How often a promoted swarm's stakeholders get an update, per severity
    /// (`{ sev1 = "30m", sev2 = "2h" }`): past it the row says `update due`, once.
    #[serde(default)]
    pub update_every: BTreeMap<SevKey, Duration>,
}

/// What a promotion does besides the swarm's own people (`[pods.promote]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteSection {
    /// Slack user groups (handles, `@` allowed) invited to the incident channel, per
    /// severity (`{ sev1 = ["legal", "comms"] }`): each member once.
    #[serde(default)]
    pub invite_groups: BTreeMap<SevKey, Vec<String>>,
}

/// The cadence per severity: the pod's own over the file's.
fn update_every(file: &IncidentSection, pod: Option<&IncidentSection>) -> [Option<i64>; 4] {
    let mut every = [None; 4];
    for section in std::iter::once(file).chain(pod) {
        for (sev, d) in &section.update_every {
            every[Urgency::from(*sev) as usize] = Some(d.0.as_secs().max(1) as i64);
        }
    }
    every
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SevKey {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl From<SevKey> for Urgency {
    fn from(k: SevKey) -> Urgency {
        match k {
            SevKey::Sev1 => Urgency::Sev1,
            SevKey::Sev2 => Urgency::Sev2,
            SevKey::Sev3 => Urgency::Sev3,
            SevKey::Sev4 => Urgency::Sev4,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    pub first_response: Option<Duration>,
    pub resolution: Option<Duration>,
    /// How long an expert asked (`assign = "ask"`) has to answer.
    pub accept_within: Option<Duration>,
    /// How long an assigned expert may be silent in the thread before the row says so.
    pub quiet_after: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertSection {
    pub user: String,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSection {
    pub resolved_reaction: Option<String>,
    /// Extra labels per field, added to the defaults.
    #[serde(default)]
    pub labels: BTreeMap<FieldKey, Vec<String>>,
    /// Extra words per urgency, added to the defaults.
    #[serde(default)]
    pub urgency: BTreeMap<SevKey, Vec<String>>,
    pub default_urgency: Option<SevKey>,
    /// Words per customer tier in a tier field: `tiers = { premier = ["Enterprise"] }`.
    #[serde(default)]
    pub tiers: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKey {
    Case,
    Urgency,
    Subject,
    Link,
    Requester,
    Tier,
}

/// A duration as people write it (`15m`, `4h`, `2days`).
#[derive(Debug, Clone, Copy)]
pub struct Duration(pub std::time::Duration);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map(Duration).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({e}); write it like \"15m\", \"4h\" or \"2days\""
            ))
        })
    }
}

/// A token that must start with `xapp-`.
#[derive(Clone)]
pub struct AppToken(pub Token);

/// A token that must start with `xoxb-`.
#[derive(Clone)]
pub struct BotToken(pub Token);

impl fmt::Debug for AppToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn check_token(value: &str, prefix: &str, what: &str) -> Result<Token, String> {
    if value.starts_with(prefix) {
        return Ok(Token::new(value));
    }
    let looks_like = match value.split('-').next() {
        Some("xapp") => "an app-level token (xapp-…)",
        Some("xoxb") => "a bot token (xoxb-…)",
        Some("xoxp") => "a user token (xoxp-…)",
        _ => "not a Slack token",
    };
    Err(format!(
        "{what} must start with `{prefix}`, but this is {looks_like}; copy it from the Slack app's settings"
    ))
}

impl<'de> Deserialize<'de> for AppToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        check_token(&value, "xapp-", "the app-level token (app_token)")
            .map(AppToken)
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for BotToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        check_token(&value, "xoxb-", "the bot token (bot_token)")
            .map(BotToken)
            .map_err(serde::de::Error::custom)
    }
}

/// A configuration problem, said so that the lead can fix it.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Everything the command line and the environment say, before the file is read.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

/// The settings in force: the file (if any) with the environment over it.
#[derive(Debug)]
pub struct Settings {
    /// The config file read, if there was one.
    pub path: Option<PathBuf>,
    pub file: File,
    pub api_url: String,
    pub app_token: Option<Token>,
    pub bot_token: Option<Token>,
    pub data_dir: PathBuf,
    pub time_scale: f64,
    /// The team bus URL: `SWARMDECK_TEAM_BUS`, else `[team] bus`.
    pub bus_url: Option<BusUrl>,
}

impl Settings {
    /// Reads the config file (`--config`, else `SWARMDECK_CONFIG`, else the XDG path if it
    /// exists) and the environment.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let explicit = overrides
            .config
            .clone()
            .or_else(|| env("SWARMDECK_CONFIG").map(PathBuf::from));
        let path = match explicit {
            Some(p) => Some(p),
            None => default_config_path().filter(|p| p.exists()),
        };
        let file = match &path {
            Some(p) => read_file(p)?,
            None => File::default(),
        };
        let app_token = match env("SLACK_APP_TOKEN") {
            Some(v) => Some(
                check_token(&v, "xapp-", "SLACK_APP_TOKEN")
                    .map_err(|e| ConfigError(format!("{e}.")))?,
            ),
            None => file.slack.app_token.clone().map(|t| t.0),
        };
        let bot_token = match env("SLACK_BOT_TOKEN") {
            Some(v) => Some(
                check_token(&v, "xoxb-", "SLACK_BOT_TOKEN")
                    .map_err(|e| ConfigError(format!("{e}.")))?,
            ),
            None => file.slack.bot_token.clone().map(|t| t.0),
        };
        let api_url = env("SLACK_API_URL")
            .or_else(|| file.slack.api_url.clone())
            .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .or_else(default_data_dir)
            .ok_or_else(|| {
                ConfigError("no data directory: set --data-dir or `data_dir` in the config".into())
            })?;
        let bus_url = bus_url(env("SWARMDECK_TEAM_BUS"), path.as_deref(), &file.team)?;
        if let Some(p) = &path {
            warn_if_readable_by_others(p, &file);
        }
        Ok(Settings {
            path,
            time_scale: file.slack.time_scale.unwrap_or(1.0).max(1e-3),
            file,
            api_url,
            app_token,
            bot_token,
            data_dir,
            bus_url,
        })
    }

    /// Settings for `swarmdeck demo`: the built-in emulator, its any-token-will-do
    /// tokens, no config file.
    pub fn demo(api_url: &str, data_dir: PathBuf) -> Settings {
        Settings {
            path: None,
            file: File {
                // The demo workspace's lead: the lead's moves name them, as a config would.
                lead: Some(crate::emulator::LEAD_USER_ID.to_string()),
                ..File::default()
            },
            api_url: api_url.to_string(),
            app_token: Some(Token::new("xapp-1-demo-emulator")),
            bot_token: Some(Token::new("xoxb-demo-emulator")),
            data_dir,
            time_scale: 1.0,
            bus_url: None,
        }
    }

    /// The Slack client's settings; an error says which token is missing and where to put it.
    pub fn slack(&self) -> Result<SlackConfig, ConfigError> {
        let missing = |var: &str, key: &str, prefix: &str| {
            ConfigError(format!(
                "no {prefix} token: set {var} in the environment, or `{key}` under [slack] in the config file ({})",
                self.path
                    .as_ref()
                    .or(default_config_path().as_ref())
                    .map_or("none".into(), |p| p.display().to_string())
            ))
        };
        let bot = self
            .bot_token
            .clone()
            .ok_or_else(|| missing("SLACK_BOT_TOKEN", "bot_token", "xoxb-"))?;
        let app = self
            .app_token
            .clone()
            .ok_or_else(|| missing("SLACK_APP_TOKEN", "app_token", "xapp-"))?;
        let mut config = SlackConfig::new(&self.api_url, bot, app);
        config.web = WebPolicy {
            time_scale: self.time_scale,
            ..WebPolicy::default()
        };
        config.socket.probe_every = Some(self.probe_every());
        Ok(config)
    }

    /// How long history is kept (`[store] retention`, default 180 days).
    pub fn retention(&self) -> std::time::Duration {
        self.file
            .store
            .retention
            .as_ref()
            .map_or(std::time::Duration::from_secs(180 * 86_400), |d| d.0)
    }

    /// Other leads' swarmdeck apps (`[team] peer_bots`): bot ids and app ids whose
    /// markers count like our own.
    pub fn peer_bots(&self) -> Vec<String> {
        self.file
            .team
            .peer_bots
            .iter()
            .map(|p| p.0.clone())
            .collect()
    }

    /// The team bus, when one is set (`SWARMDECK_TEAM_BUS` or `[team] bus`), with the
    /// `[team] bus_*` keys.
    pub fn bus(&self) -> Option<BusSettings> {
        let url = self.bus_url.as_ref()?.0.clone();
        let team = &self.file.team;
        Some(BusSettings {
            require_tls: team.bus_tls.unwrap_or(false) || url.starts_with("tls://"),
            url,
            credentials: team.bus_credentials.clone(),
            token: team.bus_token.as_ref().map(|t| t.0.clone()),
            retention: team.bus_retention.map_or(DEFAULT_BUS_RETENTION, |d| d.0),
        })
    }

    /// How often one connection is rotated to re-read `hello.num_connections`
    /// (`[slack] probe_every`, default 2 minutes).
    pub fn probe_every(&self) -> std::time::Duration {
        self.file
            .slack
            .probe_every
            .map_or(DEFAULT_PROBE_EVERY, |d| d.0)
    }

    /// The keymap: the defaults with the config's `[keys]` over them.
    pub fn keymap(&self) -> Result<crate::ui::keymap::Keymap, ConfigError> {
        let overrides: Vec<(String, Vec<String>)> = self
            .file
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), v.list()))
            .collect();
        crate::ui::keymap::Keymap::with_overrides(&overrides).map_err(|e| {
            ConfigError(format!(
                "{}: [keys]: {e}",
                self.path
                    .as_ref()
                    .map_or("config".into(), |p| p.display().to_string())
            ))
        })
    }

    /// The desk's rules: intake labels and words, the resolved reaction.
    pub fn desk(&self) -> DeskConfig {
        let intake = &self.file.intake;
        let mut rules = IntakeRules::default();
        if let Some(u) = intake.default_urgency {
            rules.default_urgency = u.into();
        }
        for (field, labels) in &intake.labels {
            let field = match field {
                FieldKey::Case => Field::Case,
                FieldKey::Urgency => Field::Urgency,
                FieldKey::Subject => Field::Subject,
                FieldKey::Link => Field::Link,
                FieldKey::Requester => Field::Requester,
                FieldKey::Tier => Field::Tier,
            };
            for l in labels {
                rules.add_label(l, field);
            }
        }
        for (sev, words) in &intake.urgency {
            for w in words {
                rules.add_urgency_word(w, (*sev).into());
            }
        }
        for (tier, words) in &intake.tiers {
            for w in words {
                rules.add_tier_word(w, tier);
            }
        }
        DeskConfig {
            intake: rules,
            resolved_reaction: intake
                .resolved_reaction
                .clone()
                .unwrap_or_else(|| crate::domain::desk::RESOLVED_REACTION.into()),
            claim_reaction: self
                .file
                .actions
                .claim_reaction
                .as_deref()
                .map(|r| r.trim_matches(':').to_string())
                .unwrap_or_else(|| crate::domain::desk::CLAIM_REACTION.into()),
        }
    }

    /// The pods: the configured ones matched to the bot's channels (by id or name), or,
    /// with none configured, every channel the bot is in. Configured channels the bot is
    /// not in are returned apart, for `check` and the status line to name.
    pub fn pods(&self, channels: &[(String, String)]) -> (Vec<Pod>, Vec<String>) {
        if self.file.pods.is_empty() {
            // Incident channels swarmdeck created hold the bot too; they are not pods.
            let pods = channels
                .iter()
                .filter(|(_, name)| !matches_template(DEFAULT_INCIDENT_TEMPLATE, name))
                .map(|(id, name)| {
                    let mut pod = Pod::discovered(id, name);
                    pod.sla.update_every = update_every(&self.file.incident, None);
                    pod
                })
                .collect();
            return (pods, Vec::new());
        }
        let mut pods = Vec::new();
        let mut missing = Vec::new();
        for p in &self.file.pods {
            let wanted = p.channel.trim_start_matches('#');
            let Some((id, name)) = channels
                .iter()
                .find(|(id, name)| id == wanted || name == wanted)
            else {
                missing.push(p.channel.clone());
                continue;
            };
            let mut pod = Pod::discovered(id, name);
            if let Some(n) = &p.name {
                pod.name = n.clone();
            }
            if let Some(product) = &p.product {
                pod.product = product.clone();
            }
            pod.region = p.region.clone();
            if let Some(t) = &p.incident_template {
                pod.incident_template = t.clone();
            }
            pod.sla = sla_with(&p.sla);
            pod.sla.hours = p.hours.as_ref().map(|h| h.0.clone());
            pod.sla.tiers = tiers_with(&p.tiers);
            pod.sla.update_every = update_every(&self.file.incident, Some(&p.incident));
            for (sev, groups) in &p.promote.invite_groups {
                pod.invite_groups[Urgency::from(*sev) as usize] = groups
                    .iter()
                    .map(|g| g.trim_start_matches('@').to_string())
                    .collect();
            }
            pod.flag_duplicates = p.duplicates.unwrap_or(true);
            pods.push(pod);
        }
        (pods, missing)
    }
}

fn sla_with(overrides: &BTreeMap<SevKey, SlaTargets>) -> SlaPolicy {
    let mut sla = SlaPolicy::default();
    for (sev, t) in overrides {
        let i = Urgency::from(*sev) as usize;
        if let Some(d) = t.first_response {
            sla.first_response[i] = d.0.as_secs() as i64;
        }
        if let Some(d) = t.resolution {
            sla.resolution[i] = d.0.as_secs() as i64;
        }
        if let Some(d) = t.accept_within {
            sla.accept_within[i] = d.0.as_secs() as i64;
        }
        if let Some(d) = t.quiet_after {
            sla.quiet_after[i] = d.0.as_secs() as i64;
        }
    }
    sla
}

fn tiers_with(
    tiers: &BTreeMap<String, BTreeMap<SevKey, TierSla>>,
) -> BTreeMap<String, crate::domain::TierTargets> {
    let secs = |d: &Option<Duration>| d.map(|d| d.0.as_secs() as i64);
    // Tiers are named as intake reads them, lowercase: `Premier` and `premier` are one.
    let mut out: BTreeMap<String, crate::domain::TierTargets> = BTreeMap::new();
    for (name, by_sev) in tiers {
        let t = out.entry(name.trim().to_lowercase()).or_default();
        for (sev, targets) in by_sev {
            let i = Urgency::from(*sev) as usize;
            t.first_response[i] = secs(&targets.first_response).or(t.first_response[i]);
            t.resolution[i] = secs(&targets.resolution).or(t.resolution[i]);
        }
    }
    out
}

/// Parses a config file; errors carry the file, the line and the key.
pub fn read_file(path: &Path) -> Result<File, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "{}: cannot read the config file ({e}); fix the path given by --config or SWARMDECK_CONFIG",
            path.display()
        ))
    })?;
    parse(&text).map_err(|e| ConfigError(format!("{}:{e}", path.display())))
}

/// Parses config text; the error starts with `line N: key: ` and ends with the fix.
pub fn parse(text: &str) -> Result<File, String> {
    toml::from_str::<File>(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = e.span().and_then(|s| key_at(text, s.start));
        let message = e.message().trim().to_string();
        let fix = if message.starts_with("unknown field") {
            "remove it or correct its spelling (assets/config.example.toml lists every key)"
        } else if message.starts_with("missing field") {
            "add it (assets/config.example.toml shows each section)"
        } else {
            "see assets/config.example.toml"
        };
        format!(
            "{}: {}{message}; {fix}",
            line.map_or(String::new(), |l| format!("{l}")),
            key.map_or(String::new(), |k| format!(" `{k}`: ")),
        )
    })
}

/// The key on the line where an error points (`key = value` or `[section]`).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?.trim();
    let key = line
        .split('=')
        .next()?
        .trim()
        .trim_matches(['[', ']'])
        .trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// The team bus URL: `SWARMDECK_TEAM_BUS` (checked here) over `[team] bus` (checked when
/// the file was read), and the `bus_*` keys checked against it.
fn bus_url(
    from_env: Option<String>,
    path: Option<&Path>,
    team: &TeamSection,
) -> Result<Option<BusUrl>, ConfigError> {
    let url = match from_env {
        Some(v) => {
            Some(check_bus_url(&v).map_err(|e| ConfigError(format!("SWARMDECK_TEAM_BUS: {e}.")))?)
        }
        None => team.bus.clone(),
    };
    check_bus_keys(path, team, url.is_some())?;
    Ok(url)
}

/// `bus_*` keys without a bus would do nothing: the lead would believe they are on a bus
/// when they are not. Credentials and a token together leave it unclear which one is meant.
fn check_bus_keys(
    path: Option<&Path>,
    team: &TeamSection,
    has_bus: bool,
) -> Result<(), ConfigError> {
    let file = path.map_or("config".into(), |p| p.display().to_string());
    let set = [
        ("bus_credentials", team.bus_credentials.is_some()),
        ("bus_token", team.bus_token.is_some()),
        ("bus_tls", team.bus_tls.is_some()),
        ("bus_retention", team.bus_retention.is_some()),
    ];
    if let Some((key, _)) = set.iter().find(|(_, is_set)| *is_set).filter(|_| !has_bus) {
        return Err(ConfigError(format!(
            "{file}: [team] `{key}` is set but there is no team bus; set `bus = \"nats://host:4222\"` (or SWARMDECK_TEAM_BUS), or remove `{key}`"
        )));
    }
    if team.bus_credentials.is_some() && team.bus_token.is_some() {
        return Err(ConfigError(format!(
            "{file}: [team] `bus_credentials` and `bus_token` are both set; keep the one the NATS server expects"
        )));
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path, file: &File) {
    if tokens_exposed(path, file) {
        tracing::warn!(
            path = %path.display(),
            "the config file holds tokens (Slack's or the team bus's) and others can read it; run: chmod 600 {}",
            path.display()
        );
    }
}

/// Whether a config file that holds tokens (Slack's, or the team bus's) can be read by
/// group or others.
pub fn tokens_exposed(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let holds_token = file.slack.app_token.is_some()
            || file.slack.bot_token.is_some()
            || file.team.bus_token.is_some();
        return holds_token
            && std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0);
    }
    #[allow(unreachable_code)]
    false
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "swarmdeck")
}

pub fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

pub fn default_data_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().to_path_buf())
}

/// Where logs go: the XDG state dir (falls back to the data dir).
pub fn default_log_dir() -> Option<PathBuf> {
    project_dirs().map(|d| {
        d.state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| d.data_dir().join("logs"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let f = parse(
            r##"
lead = "U0LEAD0001"
[slack]
bot_token = "xoxb-1"
app_token = "xapp-1"
time_scale = 10.0
[[pods]]
channel = "#swarm-api"
region = "emea"
sla.sev1 = { first_response = "10m", resolution = "2h", accept_within = "3m", quiet_after = "20m" }
[intake]
labels = { case = ["Ticket"] }
urgency = { sev1 = ["blocker"] }
"##,
        )
        .unwrap();
        assert_eq!(f.lead.as_deref(), Some("U0LEAD0001"));
        let sla = sla_with(&f.pods[0].sla);
        assert_eq!((sla.first_response[0], sla.resolution[0]), (600, 7200));
        assert_eq!((sla.accept_within[0], sla.quiet_after[0]), (180, 1200));
        assert_eq!(
            sla.first_response[1],
            SlaPolicy::default().first_response[1]
        );
    }

    #[test]
    fn mistakes_name_the_line_the_key_and_the_fix() {
        let e = parse("lead = \"U1\"\n[slack]\nbot_tokn = \"xoxb-1\"\n").unwrap_err();
        assert!(e.starts_with("3:"), "{e}");
        assert!(
            e.contains("bot_tokn") && e.contains("remove it or correct"),
            "{e}"
        );
        let e = parse("[slack]\nbot_token = \"xapp-1\"\n").unwrap_err();
        assert!(
            e.starts_with("2:") && e.contains("bot_token") && e.contains("xoxb-"),
            "{e}"
        );
        assert!(
            !e.contains("xapp-1"),
            "the token itself is never repeated: {e}"
        );
        let e = parse("[[pods]]\nchannel = \"a\"\nsla.sev1 = { first_response = \"soon\" }\n")
            .unwrap_err();
        assert!(e.starts_with("3:") && e.contains("15m"), "{e}");
    }
}

#[cfg(test)]
mod team_tests {
    use super::*;

    fn settings(file: File) -> Settings {
        Settings {
            path: None,
            file,
            api_url: DEFAULT_API_URL.into(),
            app_token: None,
            bot_token: None,
            data_dir: "/tmp".into(),
            time_scale: 1.0,
            bus_url: None,
        }
    }

    #[test]
    fn peer_bots_and_probe_every_from_the_file() {
        let s = settings(
            parse("[slack]\nprobe_every = \"30s\"\n[team]\npeer_bots = [\"B0PEER0001\", \"A0PEERAPP2\"]\n")
                .unwrap(),
        );
        assert_eq!(s.peer_bots(), ["B0PEER0001", "A0PEERAPP2"]);
        assert_eq!(s.probe_every(), std::time::Duration::from_secs(30));
        let none = settings(parse("").unwrap());
        assert!(none.peer_bots().is_empty());
        assert_eq!(none.probe_every(), std::time::Duration::from_secs(120));
    }

    #[test]
    fn a_bad_peer_id_names_the_line_the_key_and_the_fix() {
        let e = parse("lead = \"U1\"\n[team]\npeer_bots = [\"B0PEER0001\", \"U0LEAD0001\"]\n")
            .unwrap_err();
        assert!(e.starts_with("3:") && e.contains("`peer_bots`"), "{e}");
        assert!(
            e.contains("U0LEAD0001") && e.contains("user id") && e.contains("App ID"),
            "{e}"
        );
        // One id a line: the error is at the array's line and key, and names the id.
        let e =
            parse("[team]\npeer_bots = [\n  \"B0PEER0001\",\n  \"b0peer0002\",\n]\n").unwrap_err();
        assert!(
            e.starts_with("2:") && e.contains("b0peer0002") && e.contains("`peer_bots`"),
            "{e}"
        );
        assert!(e.contains("upper case"), "{e}");
        for bad in ["\"\"", "\"B\"", "\"X0PEER\"", "\"B0 PEER\""] {
            let e = parse(&format!("[team]\npeer_bots = [{bad}]\n")).unwrap_err();
            assert!(
                e.starts_with("2:") && e.contains("bot id (B…)"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_bad_probe_every_is_a_clear_error() {
        let e = parse("[slack]\nprobe_every = \"500ms\"\n").unwrap_err();
        assert!(
            e.starts_with("2:") && e.contains("`probe_every`") && e.contains("at least \"1s\""),
            "{e}"
        );
        let e = parse("[slack]\n\nprobe_every = \"often\"\n").unwrap_err();
        assert!(
            e.starts_with("3:") && e.contains("`probe_every`") && e.contains("15m"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod bus_tests {
    use super::*;

    const SECRET: &str = "s3cret-nats-t0ken";

    /// Settings as `load` builds them, with `env` standing for `SWARMDECK_TEAM_BUS`.
    fn settings(text: &str, env: Option<&str>) -> Result<Settings, ConfigError> {
        let file = parse(text).map_err(ConfigError)?;
        let bus_url = bus_url(env.map(str::to_string), None, &file.team)?;
        Ok(Settings {
            path: None,
            file,
            api_url: DEFAULT_API_URL.into(),
            app_token: None,
            bot_token: None,
            data_dir: "/tmp".into(),
            time_scale: 1.0,
            bus_url,
        })
    }

    #[test]
    fn a_good_bus_section() {
        let s = settings(
            &format!(
                "[team]\nbus = \"nats://bus.example:4222\"\nbus_token = \"{SECRET}\"\nbus_tls = true\nbus_retention = \"3d\"\n"
            ),
            None,
        )
        .unwrap();
        let bus = s.bus().expect("a bus");
        assert_eq!(bus.url, "nats://bus.example:4222");
        assert_eq!(bus.token.as_ref().map(|t| t.secret()), Some(SECRET));
        assert!(bus.require_tls && bus.credentials.is_none());
        assert_eq!(bus.retention, std::time::Duration::from_secs(3 * 86_400));

        let s = settings(
            "[team]\nbus = \"nats+tls://bus.example:4222\"\nbus_credentials = \"/etc/swarmdeck/lead.creds\"\n",
            None,
        )
        .unwrap();
        let bus = s.bus().unwrap();
        assert_eq!(bus.url, "tls://bus.example:4222", "as async-nats spells it");
        assert!(bus.require_tls, "a tls:// URL requires TLS");
        assert_eq!(
            bus.credentials.as_deref(),
            Some(Path::new("/etc/swarmdeck/lead.creds"))
        );
        assert_eq!(bus.retention, DEFAULT_BUS_RETENTION);
        assert!(bus.token.is_none());

        assert!(settings("", None).unwrap().bus().is_none());
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file = "[team]\nbus = \"nats://from-file:4222\"\n";
        let s = settings(file, Some("tls://from-env:4222")).unwrap();
        assert_eq!(s.bus().unwrap().url, "tls://from-env:4222");
        let s = settings("", Some("nats://from-env:4222")).unwrap();
        assert_eq!(s.bus().unwrap().url, "nats://from-env:4222");
        let e = settings(file, Some("http://from-env:4222"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("SWARMDECK_TEAM_BUS:") && e.contains("nats://host:4222"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_scheme_names_the_line_and_the_key() {
        for bad in ["http://bus:4222", "bus.example:4222", "nats://"] {
            let e = parse(&format!("lead = \"U1\"\n[team]\nbus = \"{bad}\"\n")).unwrap_err();
            assert!(
                e.starts_with("3:") && e.contains("`bus`") && e.contains("nats://host:4222"),
                "{bad}: {e}"
            );
        }
        let e = parse("[team]\nbus = \"http://user:hunter2@bus:4222\"\n").unwrap_err();
        assert!(e.contains("`http://`"), "{e}");
        assert!(
            !e.contains("hunter2"),
            "a password in the URL is never repeated: {e}"
        );
    }

    #[test]
    fn a_bad_retention_is_a_clear_error() {
        let e = parse("[team]\nbus = \"nats://b:4222\"\nbus_retention = \"30m\"\n").unwrap_err();
        assert!(
            e.starts_with("3:") && e.contains("`bus_retention`") && e.contains("at least \"1h\""),
            "{e}"
        );
        let e = parse("[team]\nbus_retention = \"a week\"\n").unwrap_err();
        assert!(
            e.starts_with("2:") && e.contains("`bus_retention`") && e.contains("15m"),
            "{e}"
        );
        assert!(parse("[team]\nbus_retention = \"1h\"\n").is_ok());
    }

    #[test]
    fn bus_keys_without_a_bus_or_both_auths_are_errors() {
        let e = settings("[team]\nbus_tls = true\n", None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("`bus_tls`") && e.contains("SWARMDECK_TEAM_BUS"),
            "{e}"
        );
        assert!(settings("[team]\nbus_tls = true\n", Some("nats://b:4222")).is_ok());
        let both = format!(
            "[team]\nbus = \"nats://b:4222\"\nbus_credentials = \"a.creds\"\nbus_token = \"{SECRET}\"\n"
        );
        let e = settings(&both, None).err().unwrap().to_string();
        assert!(e.contains("both set") && !e.contains(SECRET), "{e}");
    }

    #[test]
    fn the_token_and_url_passwords_never_show_in_debug() {
        let s = settings(
            &format!("[team]\nbus = \"nats://lead:hunter2@bus:4222\"\nbus_token = \"{SECRET}\"\n"),
            None,
        )
        .unwrap();
        let bus = s.bus().unwrap();
        for shown in [
            format!("{s:?}"),
            format!("{bus:?}"),
            format!("{:#?}", s.file),
        ] {
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("@bus:4222"), "{shown}");
        }
        let e = parse("[team]\nbus_token = \"\"\n").unwrap_err();
        assert!(e.starts_with("2:") && e.contains("`bus_token`"), "{e}");
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_and_bell_from_the_file() {
        let file = parse(
            "[ui]\nbell = false\nmouse = true\n[keys]\nquit = \"x\"\nmetrics = [\"M\", \"F2\"]\n",
        );
        // F2 is not a key this keymap knows: the error names it.
        let settings = |file| Settings {
            path: Some("/etc/swarmdeck.toml".into()),
            file,
            api_url: DEFAULT_API_URL.into(),
            app_token: None,
            bot_token: None,
            data_dir: "/tmp".into(),
            time_scale: 1.0,
            bus_url: None,
        };
        let s = settings(file.unwrap());
        assert_eq!(s.file.ui.bell, Some(false));
        assert_eq!(s.file.ui.mouse, Some(true));
        let e = s.keymap().unwrap_err().to_string();
        assert!(
            e.contains("/etc/swarmdeck.toml") && e.contains("F2") && e.contains("metrics"),
            "{e}"
        );
        let ok = settings(parse("[keys]\nquit = \"x\"\n").unwrap());
        assert!(ok.keymap().is_ok());
    }
}

#[cfg(all(test, unix))]
mod permission_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_token_file_others_can_read_is_flagged() {
        let dir = std::env::temp_dir().join(format!("swarmdeck-perm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        let text = "[slack]\nbot_token = \"xoxb-123456789\"\n";
        std::fs::write(&path, text).unwrap();
        let file = parse(text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(tokens_exposed(&path, &file));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!tokens_exposed(&path, &file));
        let no_tokens = parse("lead = \"U1\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            !tokens_exposed(&path, &no_tokens),
            "no token, nothing to protect"
        );
        let bus_token = parse("[team]\nbus = \"nats://b:4222\"\nbus_token = \"t0ken\"\n").unwrap();
        assert!(
            tokens_exposed(&path, &bus_token),
            "a bus token is a secret too"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod hours_tests {
    use super::*;

    fn pod(text: &str) -> Result<File, String> {
        parse(&format!("[[pods]]\nchannel = \"swarm-api\"\n{text}\n"))
    }

    #[test]
    fn hours_and_tiers_from_the_file() {
        let f = pod(concat!(
            "hours = { tz = \"Europe/Berlin\", weekdays = \"mon-fri\", open = \"09:00\", close = \"17:00\", ",
            "days = { fri = \"09:00-15:00\" }, holidays = [\"2026-12-25\"], follow = [\"sev1\", \"sev3\"] }\n",
            "tiers.premier.sev1 = { first_response = \"5m\" }\n",
            "tiers.Premier.sev2 = { resolution = \"4h\" }\n",
            "[intake]\nlabels = { tier = [\"Support level\"] }\ntiers = { premier = [\"Enterprise\"] }",
        ))
        .unwrap();
        let h = &f.pods[0].hours.as_ref().unwrap().0;
        assert_eq!(h.tz, chrono_tz::Europe::Berlin);
        assert_eq!(h.week[0], Some((540, 1020)));
        assert_eq!(h.week[4], Some((540, 900)), "Friday's own hours");
        assert_eq!(h.week[5], None);
        assert_eq!(h.holidays.len(), 1);
        assert_eq!(h.follow, [true, false, true, false]);
        let tiers = tiers_with(&f.pods[0].tiers);
        assert_eq!(tiers["premier"].first_response[0], Some(300));
        assert_eq!(tiers["premier"].resolution[1], Some(4 * 3600));
        let rules = settings_desk(f);
        let r = rules
            .intake
            .parse(&["*Case:* 1\n*Support level:* Enterprise".into()], "")
            .unwrap();
        assert_eq!(r.tier.as_deref(), Some("premier"));
    }

    fn settings_desk(file: File) -> DeskConfig {
        Settings {
            file,
            ..Settings::demo("http://127.0.0.1:1/api/", "/tmp".into())
        }
        .desk()
    }

    #[test]
    fn a_bad_zone_time_or_date_names_the_line_the_key_and_the_fix() {
        for (hours, says) in [
            ("tz = \"Europe/Berln\"", "Europe/Berlin"),
            ("tz = \"UTC\", open = \"9am\"", "\"09:00\""),
            (
                "tz = \"UTC\", holidays = [\"25.12.2026\"]",
                "\"2026-12-25\"",
            ),
            ("tz = \"UTC\", weekdays = \"weekdays\"", "\"mon-fri\""),
            (
                "tz = \"UTC\", open = \"18:00\", close = \"09:00\"",
                "opening time first",
            ),
            ("tz = \"UTC\", days = { fri = \"9-3\" }", "\"09:00-15:00\""),
        ] {
            let e = pod(&format!("hours = {{ {hours} }}")).unwrap_err();
            assert!(
                e.starts_with("3:") && e.contains("`hours`") && e.contains(says),
                "{hours}: {e}"
            );
        }
        let e = pod("hours = { tz = \"UTC\", opens = \"09:00\" }").unwrap_err();
        assert!(
            e.contains("opens") && e.contains("remove it or correct"),
            "{e}"
        );
        let e = pod("tiers.premier.sev1 = { quiet_after = \"5m\" }").unwrap_err();
        assert!(e.starts_with("3:") && e.contains("quiet_after"), "{e}");
    }
}

#[cfg(test)]
mod stakeholder_tests {
    use super::*;

    fn pods(text: &str) -> Vec<Pod> {
        let settings = Settings {
            path: None,
            file: parse(text).unwrap(),
            api_url: DEFAULT_API_URL.into(),
            app_token: None,
            bot_token: None,
            data_dir: "/tmp".into(),
            time_scale: 1.0,
            bus_url: None,
        };
        let channels = [
            ("C1".to_string(), "swarm-api".to_string()),
            ("C2".to_string(), "swarm-billing".to_string()),
        ];
        settings.pods(&channels).0
    }

    #[test]
    fn cadence_and_invite_groups_per_severity_and_pod() {
        let pods = pods(
            r##"
[incident]
update_every = { sev1 = "30m", sev2 = "2h" }
[[pods]]
channel = "swarm-api"
[pods.promote]
invite_groups = { sev1 = ["@legal", "comms"], sev2 = ["account-team"] }
[[pods]]
channel = "swarm-billing"
[pods.incident]
update_every = { sev1 = "3s" }
"##,
        );
        assert_eq!(
            pods[0].sla.update_every,
            [Some(1800), Some(7200), None, None]
        );
        assert_eq!(pods[0].invite_groups[0], ["legal", "comms"]);
        assert_eq!(pods[0].invite_groups[1], ["account-team"]);
        assert!(pods[0].invite_groups[2].is_empty());
        // The pod's own cadence wins over the file's, severity by severity.
        assert_eq!(pods[1].sla.update_every, [Some(3), Some(7200), None, None]);
    }

    #[test]
    fn a_bad_cadence_names_the_line_the_key_and_the_fix() {
        let e = parse("[incident]\nupdate_every = { sev1 = \"soon\" }\n").unwrap_err();
        assert!(e.starts_with("2:"), "{e}");
        assert!(e.contains("update_every") && e.contains("\"15m\""), "{e}");
        let e =
            parse("[[pods]]\nchannel = \"a\"\n[pods.promote]\ninvite_group = {}\n").unwrap_err();
        assert!(e.starts_with("4:") && e.contains("invite_group"), "{e}");
    }
}
