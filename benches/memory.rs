//! What failfast keeps on the heap: bytes per live breaker, by how many threads have called it;
//! bytes per calling thread; and what stays behind once breakers are dropped (their names, and
//! alarms still pending).
//!
//! `cargo bench -p benches --bench memory`
//!
//! Not a timing benchmark. A counting global allocator keeps the number of heap bytes live, and
//! each figure is the difference between two readings, printed as Markdown tables for the
//! README. The bytes are those asked of the allocator: its own rounding and bookkeeping come on
//! top. 1 KB is 1,000 bytes and 1 MB 1,000,000.

// The workspace denies unsafe code; implementing `GlobalAlloc` cannot be done without it, and
// every unsafe block below only hands the request on to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Barrier, RwLock};
use std::thread;
use std::time::Duration;

use failfast::{Breaker, TripPolicy, Window};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// Live breakers per reading: enough that the breakers, not the noise, make the figure.
const BREAKERS: usize = 1_000;
/// Threads calling each breaker; with none, the breaker as built.
const THREADS: [usize; 4] = [0, 1, 8, 32];
const DROPPED_NAMES: usize = 600_000;
const DROPPED_OPEN: usize = 10_000;
const REOPENINGS: usize = 10_000;

/// The system allocator, counting the bytes it has handed out and not yet had back.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// SAFETY: every method forwards to `System`, which upholds the `GlobalAlloc` contract; the
// counting touches only an atomic and never the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: only forwards to `System` the caller's request, with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: only forwards to `System` the caller's request, with the caller's guarantees.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: only forwards to `System`, which made `ptr`: every allocation goes through it.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: only forwards the caller's request to `System`, which made `ptr`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(new_size, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        new
    }
}

fn live_bytes() -> i64 {
    LIVE.load(Relaxed) as i64
}

fn host(i: usize) -> String {
    format!("host-{i}")
}

fn rate_breaker(name: impl Into<failfast::Name>) -> Breaker {
    Breaker::builder(name)
        .trip(TripPolicy::failure_rate(0.5, Window::LastCalls(100)))
        .open_for(MINUTE)
        .build()
        .expect("a valid rate policy")
}

fn succeed(breaker: &Breaker) {
    let _ = breaker.call(|| Ok::<_, ()>(1));
}

/// Makes the calling thread's first call through a breaker, so that what a thread pays once
/// (its counting cell, the registration of its thread-local cleanup) is paid before a reading.
fn warm_up_this_thread() {
    succeed(&Breaker::new("warm-up", MINUTE));
}

/// Starts the timer thread, which the first open circuit does, before a reading.
fn start_timer() {
    Breaker::new("warm-up", HOUR).force_open(HOUR);
}

/// Heap bytes gained while this thread runs `make`, then each of `threads` threads runs `work`,
/// read with every thread still alive. Each thread first runs `warm_up`, before the reading.
fn bytes_gained_with_threads(
    threads: usize,
    warm_up: impl Fn() + Sync,
    make: impl FnOnce(),
    work: impl Fn() + Sync,
) -> i64 {
    // One barrier, passed four times: warmed up, made, worked, measured.
    let step = Barrier::new(threads + 1);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    warm_up();
                    step.wait();
                    step.wait();
                    work();
                    step.wait();
                    // Alive until the reading: a thread that ends hands its counts over.
                    step.wait();
                })
            })
            .collect();
        step.wait();
        let before = live_bytes();
        make();
        step.wait();
        step.wait();
        let after = live_bytes();
        step.wait();
        // Joined, not only finished: a thread gives its counting cell back as it exits, and the
        // next reading's threads must find the cells free, or they would make new ones.
        for worker in workers {
            worker.join().unwrap();
        }
        after - before
    })
}

/// Mean heap bytes of one of `BREAKERS` breakers, the `i`th made by `make(i)`, read while they
/// are alive and after each of `threads` threads has called every one of them once.
fn bytes_per_breaker(threads: usize, make: impl Fn(usize) -> Breaker) -> i64 {
    // The list of handles is the benchmark's, not the breakers': it is made before reading.
    let breakers = RwLock::new(Vec::with_capacity(BREAKERS));
    let gained = bytes_gained_with_threads(
        threads,
        warm_up_this_thread,
        || breakers.write().unwrap().extend((0..BREAKERS).map(make)),
        || breakers.read().unwrap().iter().for_each(succeed),
    );
    per(gained, BREAKERS)
}

/// Heap bytes still live after `count` breakers, each with a name no breaker had before, were
/// made, called once and dropped, one at a time.
fn bytes_left_by_names(count: usize) -> i64 {
    warm_up_this_thread();
    let before = live_bytes();
    for i in BREAKERS..BREAKERS + count {
        succeed(&Breaker::new(host(i), MINUTE));
    }
    live_bytes() - before
}

/// Heap bytes still live after `count` breakers were forced open for an hour and dropped.
fn bytes_left_by_open_breakers(count: usize) -> i64 {
    let name = |i| format!("open-{i}");
    start_timer();
    let before = live_bytes();
    for i in 0..count {
        Breaker::new(name(i), HOUR).force_open(HOUR);
    }
    live_bytes() - before
}

/// Heap bytes still live after one breaker was forced open for ever and reset `count` times.
fn bytes_left_by_reopening(count: usize) -> i64 {
    let breaker = Breaker::new("reopened", HOUR);
    start_timer();
    // A first round before the reading: the circuit keeps room for a transition to deliver.
    breaker.force_open(Duration::MAX);
    breaker.reset();
    let before = live_bytes();
    for _ in 0..count {
        breaker.force_open(Duration::MAX);
        breaker.reset();
    }
    live_bytes() - before
}

fn per(bytes: i64, count: usize) -> i64 {
    (bytes as f64 / count as f64).round() as i64
}

/// `1234567` as `1,234,567 B (1.2 MB)`: whole bytes, and the size at a glance when large.
fn bytes(n: i64) -> String {
    let grouped = grouped(n);
    match n.unsigned_abs() {
        0..10_000 => format!("{grouped} B"),
        10_000..1_000_000 => format!("{grouped} B ({:.1} KB)", n as f64 / 1e3),
        _ => format!("{grouped} B ({:.1} MB)", n as f64 / 1e6),
    }
}

/// `-1234567` as `-1,234,567`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    // The first group takes what is left over, so that every later group has three digits.
    let (first, rest) = digits.split_at((digits.len() - 1) % 3 + 1);
    let mut out = String::from(if n < 0 { "-" } else { "" });
    out.push_str(first);
    for group in rest.as_bytes().chunks(3) {
        out.push(',');
        out.extend(group.iter().map(|&digit| char::from(digit)));
    }
    out
}

fn print_live_breakers() {
    println!("\n### Heap bytes per live breaker\n");
    println!(
        "Mean over {} live breakers, once each of T threads has made one successful call \
         through every one (the threads were started and had called a breaker before). A name \
         of its own is counted with its breaker, which frees it.\n",
        grouped(BREAKERS as i64)
    );
    print!("| breaker |");
    for threads in THREADS {
        print!(" T = {threads} |");
    }
    println!("\n|---|{}", "---:|".repeat(THREADS.len()));
    let rows: [(&str, &dyn Fn(usize) -> Breaker); 4] = [
        (
            "`Breaker::new(format!(\"host-{i}\"), ..)`: a name of its own",
            &|i| Breaker::new(host(i), MINUTE),
        ),
        (
            "`Breaker::new(\"bench\", ..)`: one name shared by all",
            &|_| Breaker::new("bench", MINUTE),
        ),
        (
            "failure rate over the last 100 calls, a name of its own",
            &|i| rate_breaker(host(i)),
        ),
        (
            "failure rate over the last 100 calls, one name shared by all",
            &|_| rate_breaker("bench"),
        ),
    ];
    for (label, make) in rows {
        print!("| {label} |");
        for threads in THREADS {
            print!(" {} |", bytes(bytes_per_breaker(threads, make)));
        }
        println!();
    }
}

fn print_left_behind() {
    println!("\n### Heap bytes left behind by dropped breakers\n");
    println!("Live bytes after, minus live bytes before; every breaker has been dropped.\n");
    println!("| what was done | left behind | each |");
    println!("|---|---:|---:|");
    let row = |what: &str, count: usize, left: i64| {
        let each = bytes(per(left, count));
        println!(
            "| {} {what} | {} | {each} |",
            grouped(count as i64),
            bytes(left)
        );
    };
    row(
        "breakers with names of their own made, called once and dropped: the names",
        DROPPED_NAMES,
        bytes_left_by_names(DROPPED_NAMES),
    );
    row(
        "breakers forced open for an hour, then dropped: their alarms and names",
        DROPPED_OPEN,
        bytes_left_by_open_breakers(DROPPED_OPEN),
    );
    row(
        "× `force_open(Duration::MAX)` then `reset()` on one breaker: their alarms",
        REOPENINGS,
        bytes_left_by_reopening(REOPENINGS),
    );
}

/// Mean heap bytes of each of `threads` threads that have called a breaker, read while they
/// are alive: what counting costs a thread, however many breakers it calls.
fn bytes_per_thread(threads: usize) -> i64 {
    let breakers: Vec<Breaker> = (0..8).map(|i| Breaker::new(host(i), MINUTE)).collect();
    let gained =
        bytes_gained_with_threads(threads, || {}, || {}, || breakers.iter().for_each(succeed));
    per(gained, threads)
}

fn print_per_thread() {
    println!("### Heap bytes per calling thread\n");
    println!(
        "Mean over T threads, alive, each of which has called 8 breakers: a thread's counting \
         cell, made on its first call and handed to the next thread when it ends. The threads' \
         own stacks and the allocator's per-thread caches are not counted.\n"
    );
    println!("| T = 1 | T = 8 | T = 32 |\n|---:|---:|---:|");
    let row: Vec<String> = [1, 8, 32]
        .into_iter()
        .map(|threads| bytes(bytes_per_thread(threads)))
        .collect();
    println!("| {} |", row.join(" | "));
}

fn main() {
    // First: threads hand their cells on to the next, and later readings would find them made.
    print_per_thread();
    print_live_breakers();
    print_left_behind();
}
