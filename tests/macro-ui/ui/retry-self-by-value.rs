use failfast::failfast;

#[derive(Clone)]
struct Request {
    body: String,
}

impl Request {
    // `self` by value is not copied for each attempt, though `Request: Clone`.
    #[failfast("review_self_by_value", 60, retry = 3)]
    fn send(self) -> Result<String, failfast::Open> {
        Ok(self.body)
    }
}

fn main() {}
