"""WorkerPool: the default executor of WSGIResource and of --wsgi (real threads)."""

import threading

import pytest
from plugserve_wsgi._threads import WorkerPool


def test_submit_returns_results_and_exceptions():
    pool = WorkerPool(2)
    assert pool.submit(lambda a, b: a + b, 2, b=3).result(timeout=5) == 5
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(timeout=5)
    pool.shutdown()


def test_a_dispatched_call_that_raises_does_not_cost_a_thread():
    pool = WorkerPool(1)
    done = threading.Event()

    def fail() -> None:
        raise SystemExit(3)  # what WSGIResponse.run re-raises after answering

    pool.dispatch(fail)
    pool.dispatch(done.set)
    assert done.wait(5)
    assert len(pool._threads) == 1
    pool.shutdown()


def test_threads_start_on_demand_up_to_the_bound():
    pool = WorkerPool(3)
    release = threading.Event()
    started = threading.Semaphore(0)

    def block() -> None:
        started.release()
        release.wait(5)

    for _ in range(10):
        pool.dispatch(block)
    for _ in range(3):
        assert started.acquire(timeout=5)
    assert len(pool._threads) == 3
    assert not started.acquire(timeout=0.05)  # the fourth call waits for a free thread
    release.set()
    for _ in range(7):
        assert started.acquire(timeout=5)
    pool.shutdown()
    assert len(pool._threads) == 3
    assert not any(thread.is_alive() for thread in pool._threads)


def test_idle_threads_are_reused():
    pool = WorkerPool(4)
    for _ in range(20):
        pool.submit(int).result(timeout=5)
    assert len(pool._threads) == 1
    pool.shutdown()


def test_shutdown_lets_queued_work_run_or_cancels_it():
    pool = WorkerPool(1)
    gate = threading.Event()
    pool.dispatch(lambda: gate.wait(5))
    queued = pool.submit(int, "7")
    pool.shutdown(wait=False)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(int)
    gate.set()
    assert queued.result(timeout=5) == 7
    pool.shutdown()

    cancelling = WorkerPool(1)
    gate.clear()
    cancelling.dispatch(lambda: gate.wait(5))
    dropped = cancelling.submit(int)
    cancelling.shutdown(wait=False, cancel_futures=True)
    assert dropped.cancelled()
    gate.set()
    cancelling.shutdown()


def test_bad_size():
    with pytest.raises(ValueError, match="max_workers"):
        WorkerPool(0)
