use super::*;
use crate::report::json::to_json;
use crate::sweep::run_sweep;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

#[test]
fn shard_specs() {
    let none = env(&[]);
    assert_eq!(Shard::parse("2/4", None, &none), Ok(Shard { index: 2, count: 4 }));
    assert!(Shard::parse("4/4", None, &none).unwrap_err().contains("not below the shard count 4"));
    assert!(Shard::parse("1/0", None, &none).is_err());
    assert!(Shard::parse("x/2", None, &none).is_err());
    assert!(Shard::parse("3", None, &none).is_err());
    let k8s = env(&[("JOB_COMPLETION_INDEX", "1"), ("SLURM_ARRAY_TASK_ID", "0")]);
    assert_eq!(Shard::parse("auto/3", None, &k8s), Ok(Shard { index: 1, count: 3 }), "Kubernetes first");
    let slurm = env(&[("SLURM_ARRAY_TASK_ID", "2")]);
    assert_eq!(Shard::parse("auto/3", None, &slurm), Ok(Shard { index: 2, count: 3 }));
    let mine = env(&[("MY_INDEX", "0"), ("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(Shard::parse("auto/3", Some("MY_INDEX"), &mine), Ok(Shard { index: 0, count: 3 }));
    let message = Shard::parse("auto/3", None, &none).unwrap_err();
    assert!(message.contains("JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID"), "{message}");
    let message = Shard::parse("auto/3", None, &env(&[("SLURM_ARRAY_TASK_ID", "3")])).unwrap_err();
    assert!(message.contains("index 3 (SLURM_ARRAY_TASK_ID=3) is not below the shard count 3"), "{message}");
}

#[test]
fn shards_split_the_seeds_evenly_and_exactly_once() {
    for seeds in [1u64, 2, 7, 10, 1000, u64::MAX] {
        for count in [1u64, 2, 3, 7, 16] {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.positions(seeds);
                assert_eq!(r.start, next);
                let even = seeds / count;
                assert!(r.end - r.start == even || r.end - r.start == even + 1);
                next = r.end;
            }
            assert_eq!(next, seeds);
        }
    }
}

fn scenario() -> Scenario {
    crate::scenario::load_file(std::path::Path::new("scenarios/retry-storm.toml")).unwrap()
}

fn inputs() -> Inputs {
    Inputs {
        label: "scenarios/retry-storm.toml".to_string(),
        text: std::fs::read_to_string("scenarios/retry-storm.toml").unwrap(),
        changes: Vec::new(),
        sets: Vec::new(),
    }
}

fn partial(opts: &SweepOptions, shard: Shard) -> (String, Partial) {
    let s = scenario();
    let run = crate::sweep::run_shard(&s, opts, shard.positions(opts.seeds), &|| {});
    let config = Config::new(inputs(), &s, Vec::new(), run);
    let command = Command { replay_prefix: opts.replay_prefix.clone(), threshold: None, compare: None };
    let p = Partial::new(Kind::Sweep, shard, opts, command, vec![config]);
    // Through the JSON text, as a merge reads it.
    (shard.file_name(), serde_json::from_str(&to_json(&p)).unwrap())
}

#[test]
fn merged_shards_are_the_sweep() {
    let opts = SweepOptions::new(9, 5);
    let whole = to_json(&run_sweep(&scenario(), &opts, &|| {}));
    for count in [1, 2, 4] {
        let mut parts: Vec<(String, Partial)> =
            (0..count).map(|index| partial(&opts, Shard { index, count })).collect();
        parts.reverse();
        match merge(&parts).unwrap() {
            Merged::Sweep { result, .. } => assert_eq!(to_json(&result), whole, "{count} shards"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn missing_overlapping_and_foreign_partials_are_refused() {
    let opts = SweepOptions::new(6, 1);
    let parts: Vec<(String, Partial)> = (0..3).map(|index| partial(&opts, Shard { index, count: 3 })).collect();
    let message = merge(&[parts[0].clone(), parts[2].clone()]).unwrap_err();
    assert!(message.contains("seeds 3 to 4 are in no partial given"), "{message}");
    assert!(message.contains("--shard 1/3"), "{message}");
    let halves: Vec<(String, Partial)> = (0..2).map(|index| partial(&opts, Shard { index, count: 2 })).collect();
    let message = merge(&[parts[0].clone(), parts[1].clone(), halves[1].clone(), parts[2].clone()]).unwrap_err();
    assert!(message.contains("overlap: both hold seeds 4 to 4"), "{message}");
    let mut other = parts[1].clone();
    other.1.configs[0].scenario_hash = "0000000000000000".to_string();
    let message = merge(&[parts[0].clone(), other, parts[2].clone()]).unwrap_err();
    assert!(message.contains("is not a shard of the same command") && message.contains("scenario hashes"), "{message}");
    let mut old = parts[1].clone();
    old.1.partial_format = 0;
    assert!(merge(&[old]).unwrap_err().contains("partial format 0 is not the format 1"));
}
