//! Loading a rollout strategy (`stormcast rollout --strategy FILE`): a TOML file with a
//! `[rollout]` table, or Kubernetes YAML (a Flagger `Canary`, or an Argo `Rollout` with
//! its `AnalysisTemplate`s), each error located at file:line:col.

use super::error::{Issue, SourceMap};
use super::{LoadError, parse_document, raw, read_text, serde_issue, validate};
use crate::model::rollout::Strategy;
use std::path::Path;

/// Reads a strategy file: YAML when its name ends in `.yaml` or `.yml`, else TOML.
pub fn load_strategy_file(path: &Path) -> Result<Strategy, LoadError> {
    let label = path.display().to_string();
    let text = read_text(path, &label).map_err(|e| e.about("strategy"))?;
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let strategy =
        if yaml { super::strategy_yaml::load_strategy_yaml(&label, &text) } else { load_strategy_str(&label, &text) };
    strategy.map_err(|e| e.about("strategy"))
}

/// A TOML strategy given as text, labelled `label`.
pub fn load_strategy_str(label: &str, text: &str) -> Result<Strategy, LoadError> {
    let mut sources = SourceMap::default();
    sources.add(label, text);
    let doc = parse_document(text).map_err(|issue| sources.error(vec![issue]))?;
    let copy = doc.get_ref().clone();
    let raw = raw::strategy_from_document(doc).map_err(|e| sources.error(vec![serde_issue(&e, &copy)]))?;
    validate::validate_strategy(&raw, label).map_err(|issues: Vec<Issue>| sources.error(issues).about("strategy"))
}
