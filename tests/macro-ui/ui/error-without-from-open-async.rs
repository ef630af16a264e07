use failfast::failfast;

#[derive(Debug)]
struct ApiError;

#[failfast("inventory", 60)]
async fn stock() -> Result<u32, ApiError> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
