//! SARIF 2.1.0 (the OASIS Static Analysis Results Interchange Format), the log
//! `check --format sarif` prints, so a scenario's errors and warnings show up as
//! annotations in code review (GitHub code scanning reads it). The structs below name
//! the schema's objects and properties; only the properties stormcast fills are here.

use serde::Serialize;

/// The schema a log declares (the one GitHub code scanning documents).
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One finding to report.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The rule: a lint's name, or `invalid-scenario`.
    pub rule: String,
    /// What the rule checks, in one sentence (the rule's short description).
    pub rule_description: String,
    pub level: Level,
    pub message: String,
    /// The file, as the user named it (a relative path stays relative).
    pub file: String,
    /// 1-based line and column, when the finding has a place in the file.
    pub position: Option<(usize, usize)>,
}

/// `result.level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
struct Run {
    tool: Tool,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool {
    driver: ToolComponent,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolComponent {
    name: &'static str,
    version: String,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    short_description: Message,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: Level,
    message: Message,
    locations: Vec<SarifLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
}

/// The SARIF log of `findings`, one run of stormcast `version`; rules in order of first
/// use.
pub fn sarif_log(version: &str, findings: &[Finding]) -> String {
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut results = Vec::with_capacity(findings.len());
    for f in findings {
        let rule_index = match rules.iter().position(|r| r.id == f.rule) {
            Some(i) => i,
            None => {
                rules.push(ReportingDescriptor {
                    id: f.rule.clone(),
                    short_description: Message { text: f.rule_description.clone() },
                });
                rules.len() - 1
            }
        };
        let region = f.position.map(|(start_line, start_column)| Region { start_line, start_column });
        results.push(SarifResult {
            rule_id: f.rule.clone(),
            rule_index,
            level: f.level,
            message: Message { text: f.message.clone() },
            locations: vec![SarifLocation {
                physical_location: PhysicalLocation {
                    artifact_location: ArtifactLocation { uri: uri(&f.file) },
                    region,
                },
            }],
        });
    }
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool { driver: ToolComponent { name: "stormcast", version: version.to_string(), rules } },
            results,
        }],
    };
    super::json::to_json(&log)
}

/// A file path as a relative URI reference: `/` separators, spaces and other characters
/// outside RFC 3986's unreserved set and `/` percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("scenarios/a b.toml"), "scenarios/a%20b.toml");
        assert_eq!(uri("dir\\x.toml"), "dir/x.toml");
    }

    #[test]
    fn rules_are_listed_once_and_indexed() {
        let f = |rule: &str, position| Finding {
            rule: rule.to_string(),
            rule_description: format!("{rule} rule"),
            level: Level::Warning,
            message: "m".to_string(),
            file: "s.toml".to_string(),
            position,
        };
        let log: serde_json::Value =
            serde_json::from_str(&sarif_log("1.0", &[f("a", Some((3, 1))), f("b", None), f("a", None)])).unwrap();
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        assert_eq!(run["results"][2]["ruleIndex"], 0);
        assert_eq!(run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
        assert!(run["results"][1]["locations"][0]["physicalLocation"].get("region").is_none());
    }
}
