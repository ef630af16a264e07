//! What the stores log: every line, from every thread, kept for the tests to read.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Every line logged so far, from every thread: the first call installs the global subscriber
/// (at the DEBUG level).
pub fn logs() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LineWriter(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        logs
    })
}

struct LineWriter(Arc<Mutex<Vec<String>>>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf).trim_end().to_owned();
        self.0.lock().unwrap().push(text);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines logged so far that contain `text` (a circuit's name, say).
pub fn containing(text: &str) -> Vec<String> {
    logs()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(text))
        .cloned()
        .collect()
}

/// The lines logged about the server at `127.0.0.1:port` that contain `text`.
pub fn logged(port: u16, text: &str) -> Vec<String> {
    let mut lines = containing(&format!("127.0.0.1:{port}/"));
    lines.retain(|l| l.contains(text));
    lines
}
