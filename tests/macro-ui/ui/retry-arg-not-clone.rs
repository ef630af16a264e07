use failfast::failfast;

struct Token;

// The body only borrows `token`, yet every argument must be `Clone`.
#[failfast("review_arg_not_clone", 60, retry = 3)]
fn send(token: Token) -> Result<u32, failfast::Open> {
    let _ = &token;
    Ok(1)
}

fn main() {}
