use failfast::failfast;

struct Conn {
    sent: u32,
}

impl Conn {
    // An async method on `&mut self`, a common client shape: the attempt closure moves `self`
    // into each attempt's `async move` block.
    #[failfast("review_async_mut_self", 60, retry = 3)]
    async fn send(&mut self) -> Result<u32, failfast::Open> {
        self.sent += 1;
        Ok(self.sent)
    }
}

fn main() {}
