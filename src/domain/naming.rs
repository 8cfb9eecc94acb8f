//! Incident channel names, from the pod's template.

use super::Urgency;

/// Slack's limit on channel names.
pub const MAX_CHANNEL_NAME: usize = 80;

/// Fills the template (`{product}`, `{pod}`, `{region}`, `{sev}`, `{case}`) and folds the
/// result into a valid Slack channel name: lowercase, `a-z0-9-_` only (anything else
/// becomes `-`, runs of `-` collapse), at most 80 characters.
pub fn incident_channel_name(
    template: &str,
    product: &str,
    pod: &str,
    region: Option<&str>,
    urgency: Urgency,
    case: &str,
) -> String {
    let filled = template
        .replace("{product}", product)
        .replace("{pod}", pod)
        .replace("{region}", region.unwrap_or(""))
        .replace("{sev}", &urgency.level().to_string())
        .replace("{case}", case);
    let mut name = String::with_capacity(filled.len());
    for c in filled.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let mut name: String = name.chars().take(MAX_CHANNEL_NAME).collect();
    while name.ends_with('-') {
        name.pop();
    }
    name
}

/// Whether a channel name has the shape a template gives (its fixed parts, in order):
/// incident channels the bot created are not pods.
pub fn matches_template(template: &str, name: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        literals.push(&rest[..open]);
        rest = rest[open..]
            .find('}')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if literals.len() == 1 {
        return name == first;
    }
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut middle = &name[first.len()..name.len() - last.len()];
    for lit in &literals[1..literals.len() - 1] {
        match middle.find(lit) {
            Some(i) => middle = &middle[i + lit.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_gives_the_conventional_name() {
        let t = crate::domain::desk::DEFAULT_INCIDENT_TEMPLATE;
        assert_eq!(
            incident_channel_name(t, "api", "api", None, Urgency::Sev1, "27343"),
            "support-api-sev1-27343"
        );
    }

    #[test]
    fn incident_channels_are_recognised_by_their_template() {
        let t = crate::domain::desk::DEFAULT_INCIDENT_TEMPLATE;
        assert!(matches_template(t, "support-api-sev1-27343"));
        assert!(matches_template(t, "support-mobile-apps-sev2-case-0042"));
        assert!(!matches_template(t, "swarm-api"));
        assert!(!matches_template(t, "support-api"));
        assert!(matches_template("inc-{case}", "inc-7"));
        assert!(!matches_template("inc-{case}", "swarm-inc"));
    }

    #[test]
    fn names_are_folded_into_what_slack_accepts() {
        let name = incident_channel_name(
            "Support {product} / {region} SEV{sev} #{case}",
            "Mobile Apps",
            "mobile",
            Some("EMEA"),
            Urgency::Sev2,
            "CASE-0042",
        );
        assert_eq!(name, "support-mobile-apps-emea-sev2-case-0042");
        let long = incident_channel_name("{case}", "p", "p", None, Urgency::Sev3, &"x".repeat(200));
        assert_eq!(long.len(), MAX_CHANNEL_NAME);
        let odd =
            incident_channel_name("{product}-é✅-{case}", "Ünï", "p", None, Urgency::Sev3, "7");
        assert!(
            odd.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'),
            "{odd}"
        );
    }
}
