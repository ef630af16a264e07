use failfast::failfast;

// Each bad duration must give one error, at its literal.
#[failfast("review_d1", 60, retry(wait = fixed("1e9h")))]
fn d1() -> Result<u32, failfast::Open> { Ok(1) }

#[failfast("review_d2", 60, retry(wait = fixed("-1s")))]
fn d2() -> Result<u32, failfast::Open> { Ok(1) }

#[failfast("review_d3", 60, retry(max_elapsed = ""))]
fn d3() -> Result<u32, failfast::Open> { Ok(1) }

#[failfast("review_d4", 60, retry(wait_for_circuit = "1.5.2s"))]
fn d4() -> Result<u32, failfast::Open> { Ok(1) }

#[failfast("review_d5", 60, retry(wait = exponential(min = "1s", max = "99999999999999999999h")))]
fn d5() -> Result<u32, failfast::Open> { Ok(1) }

#[failfast("review_d6", 60, call_timeout = 3)]
async fn d6() -> Result<u32, failfast::Open> { Ok(1) }

#[failfast("review_d7", 60, retry(attempts = 3, attempts = 4), call_timeout = "NaN s")]
async fn d7() -> Result<u32, failfast::Open> { Ok(1) }

fn main() {}
