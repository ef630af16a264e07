use failfast::failfast;

// A repeated setting of `exponential` is taken silently (the last wins), where a repeated
// option of `retry(...)` is an error.
#[failfast(
    "review_exponential_duplicate",
    60,
    retry(wait = exponential(min = "1s", max = "2s", max = "1h"))
)]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
