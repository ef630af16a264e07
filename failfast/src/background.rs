//! The process's background threads, `failfast-timer` and `failfast-events`: each started once,
//! serving a state that lives as long as the process.

/// Starts a thread named `name` that runs `run` on `state`, kept for the life of the process.
/// Returns the state, or `None` if the thread cannot be started.
pub(crate) fn start<T: Sync + 'static>(
    name: &str,
    state: T,
    run: fn(&'static T) -> !,
) -> Option<&'static T> {
    let state: &'static T = Box::leak(Box::new(state));
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || run(state))
        .ok()
        .map(|_| state)
}
