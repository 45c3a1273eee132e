fn main() {
    // The configuration lives at the repository's root, next to Cargo.toml.
    let attributes = tauri_build::Attributes::new();
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
