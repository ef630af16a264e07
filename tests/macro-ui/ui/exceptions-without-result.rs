use failfast::failfast;

fn unknown(_: failfast::Error<std::convert::Infallible>) -> u64 {
    0
}

#[failfast("visits", 60, exceptions = [_], fallback = unknown)]
fn visits() -> u64 {
    1
}

fn main() {
    let _ = visits();
}
