//! A Yunhui process stops when Kubernetes sends SIGTERM (PID 1 in a
//! container ignores it unless the process listens for it).

use std::time::Duration;

#[tokio::test]
async fn sigterm_asks_the_process_to_stop() {
    // The handlers are in place once it returns, before anything polls it.
    let stop = yunhui_runtime::shutdown_signal();
    // To this very process, which now handles it.
    let sent =
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::TERM);
    assert_eq!(sent, Ok(()), "kill(getpid(), SIGTERM)");
    let name = tokio::time::timeout(Duration::from_secs(5), stop)
        .await
        .expect("shutdown_signal resolves after SIGTERM");
    assert_eq!(name, "SIGTERM");
}
