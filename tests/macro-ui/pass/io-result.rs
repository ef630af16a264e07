// A function returning `io::Result` is guarded: failfast converts a refusal into an
// `io::Error` (kind `Other`, holding the `Open`) and a time-out into one of kind `TimedOut`.
use std::io;
use std::time::Duration;

use failfast::{Open, failfast};

#[failfast("pass_io_result", 3600)]
fn read(fail: bool) -> io::Result<u32> {
    if fail {
        Err(io::Error::other("disk"))
    } else {
        Ok(1)
    }
}

#[failfast("pass_io_result_timeout", 3600, call_timeout = "1s")]
async fn slow() -> io::Result<u32> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(1)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(read(false).unwrap(), 1);
    assert_eq!(read(true).unwrap_err().to_string(), "disk");
    let refused = read(false).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::Other);
    assert!(refused.get_ref().unwrap().downcast_ref::<Open>().is_some());
    assert_eq!(slow().await.unwrap_err().kind(), io::ErrorKind::TimedOut);
}
