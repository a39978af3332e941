//! The layers of the source tree: no module imports a layer above its own (so the layers
//! have no import loop between them). The rules and the layer order live in
//! scripts/check_layers.py, which `make lint` also runs.

use std::process::Command;

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg(format!("{root}/scripts/check_layers.py"))
        .output()
        .expect("python3 runs scripts/check_layers.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "layer violations:\n{text}");
    // The script says how many paths it checked: a run that found none would prove nothing.
    let checked: usize = text
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("layers: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(checked > 200, "only {checked} crate paths checked:\n{text}");
}
