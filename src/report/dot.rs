pub fn to_dot(_: &crate::model::Scenario) -> String { String::new() }
