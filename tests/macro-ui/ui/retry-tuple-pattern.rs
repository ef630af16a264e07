use failfast::failfast;

// A pattern argument is not copied for each attempt: a body that consumes it does not compile.
#[failfast("review_tuple_pattern", 60, retry = 3)]
fn send((name, id): (String, u32)) -> Result<String, failfast::Open> {
    let _ = id;
    Ok(name)
}

fn main() {}
