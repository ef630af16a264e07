use failfast::failfast;

struct Client {
    calls: u32,
}

impl Client {
    #[failfast("inventory", 60, retry = 3)]
    async fn stock(&mut self) -> Result<u32, failfast::Open> {
        self.calls += 1;
        Ok(self.calls)
    }
}

fn main() {}
