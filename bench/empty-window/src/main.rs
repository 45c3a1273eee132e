//! An empty window: the same Tauri, WebKitGTK and build settings as Slipway,
//! nothing else. Prints `SLIPWAY_PAINTED` once its page has painted.

#[tauri::command]
fn painted() {
    eprintln!("SLIPWAY_PAINTED");
}

fn main() {
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
