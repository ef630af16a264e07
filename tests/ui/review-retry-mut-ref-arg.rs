use failfast::failfast;

// A `&mut` argument can be reborrowed for each attempt, but `Clone::clone(&buf)` asks for
// `&mut Vec<u8>: Clone`.
#[failfast("review_mut_ref", 60, retry = 3)]
fn fill(buf: &mut Vec<u8>) -> Result<usize, failfast::Open> {
    buf.push(1);
    Ok(buf.len())
}

fn main() {
    let mut buf = Vec::new();
    let _ = fill(&mut buf);
}
