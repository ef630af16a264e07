// A fallback method that needs `&self`, given as a path: one error at the path, that a fallback
// takes one argument. The docs say to write a closure, `fallback = |e| self.cached(e)`.
use failfast::{Error, failfast};

struct Prices;

impl Prices {
    fn cached(&self, _: Error<anyhow::Error>) -> anyhow::Result<u32> {
        Ok(0)
    }

    #[failfast("prices", 60, fallback = Self::cached)]
    fn price(&self) -> anyhow::Result<u32> {
        Ok(1)
    }
}

fn main() {
    let _ = Prices.price();
}
