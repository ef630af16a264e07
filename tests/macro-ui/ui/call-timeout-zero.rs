use failfast::failfast;

#[failfast("review_call_timeout_zero", 60, call_timeout = "0.0000000001s")]
async fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
