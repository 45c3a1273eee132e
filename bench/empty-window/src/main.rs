//! An empty window: the same Tauri, WebKitGTK and build settings as Slipway,
//! nothing else. Prints `SLIPWAY_PAGE_STARTED` when its page starts loading
//! and `SLIPWAY_PAINTED` once it has painted.

#[tauri::command]
fn painted(marks: Vec<(String, f64)>) {
    let marks: Vec<String> = marks.iter().map(|(n, ms)| format!("{n}={ms:.1}")).collect();
    eprintln!("SLIPWAY_PAINTED {}", marks.join(" "));
}

fn main() {
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![painted])
        .on_page_load(|_, load| {
            if load.event() == tauri::webview::PageLoadEvent::Started {
                eprintln!("SLIPWAY_PAGE_STARTED");
            }
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
