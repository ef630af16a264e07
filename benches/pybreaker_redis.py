"""pybreaker's per-call cost with its Redis storage, for the README's comparison.

Starts a redis-server of its own (free loopback port, temporary directory, no persistence),
as the Rust benchmarks do, and times a successful call in a closed circuit and a refused call
in an open one, through a pybreaker.CircuitBreaker on CircuitRedisStorage and, for scale, on
its default in-memory storage.

    python3 -m venv /tmp/pyb && /tmp/pyb/bin/pip install pybreaker redis
    /tmp/pyb/bin/python benches/pybreaker_redis.py
"""

import importlib.metadata
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import pybreaker
import redis

CALLS = 5000
WARM_UP = 500


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(directory):
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", directory],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return server, client
        except redis.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.005)


def work():
    return 1


def fail():
    raise ValueError("down")


def per_call(call):
    """Median and mean of one call, in microseconds."""
    for _ in range(WARM_UP):
        call()
    times = []
    clock = time.perf_counter_ns
    for _ in range(CALLS):
        start = clock()
        call()
        times.append(clock() - start)
    return statistics.median(times) / 1000, statistics.fmean(times) / 1000


def refused(breaker):
    def call():
        try:
            breaker.call(work)
        except pybreaker.CircuitBreakerError:
            return
        raise AssertionError("the breaker should refuse")
    return call


def opened(breaker):
    try:
        breaker.call(fail)
    except (ValueError, pybreaker.CircuitBreakerError):
        pass
    assert breaker.current_state == pybreaker.STATE_OPEN, breaker.current_state
    return breaker


def main():
    if shutil.which("redis-server") is None:
        print("redis-server is not installed: nothing measured")
        return
    directory = tempfile.mkdtemp()
    server, client = start_server(directory)
    try:
        rows = []
        for label, storage in [
            ("in memory", lambda name: None),
            ("CircuitRedisStorage", lambda name: pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, client, namespace=name)),
        ]:
            def breaker(name):
                return pybreaker.CircuitBreaker(
                    fail_max=1, reset_timeout=3600, state_storage=storage(name), name=name)
            closed = breaker("bench-closed")
            open_ = opened(breaker("bench-open"))
            rows.append((label, per_call(lambda: closed.call(work)), per_call(refused(open_))))
        print(f"pybreaker {importlib.metadata.version('pybreaker')}, "
              f"redis-py {importlib.metadata.version('redis')}, Python {sys.version.split()[0]}; "
              f"{CALLS} calls each after {WARM_UP} not counted; microseconds, median (mean):")
        print()
        print("| storage             | admitted call (closed) | refused call (open) |")
        print("|---------------------|------------------------|---------------------|")
        for label, closed_times, open_times in rows:
            cells = [f"{median:.1f} ({mean:.1f})" for median, mean in (closed_times, open_times)]
            print(f"| {label:<19} | {cells[0]:>22} | {cells[1]:>19} |")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
