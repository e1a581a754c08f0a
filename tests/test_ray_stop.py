"""The ray driver's stop channel, without Ray: the stop file interrupts a watching task's
entry once, a task queued before it was written does not start, and an interrupt the
driver did not ask for is not swallowed. (tests/test_ray_executor.py stops a real task
on a real cluster.)"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from harness.executors import ray_task
from harness.executors.ray_stop import StopRequest, StopWatch


def request_soon(request: StopRequest, after_s: float = 0.3) -> threading.Timer:
    timer = threading.Timer(after_s, request.request)
    timer.start()
    return timer


@pytest.fixture(params=["unblocked", "blocked"])
def sigint_mask(request):
    """SIGINT as a process usually has it, and blocked, as a Ray worker's main thread has it."""
    how = signal.SIG_BLOCK if request.param == "blocked" else signal.SIG_UNBLOCK
    before = signal.pthread_sigmask(how, {signal.SIGINT})
    yield signal.pthread_sigmask(signal.SIG_BLOCK, set())
    signal.pthread_sigmask(signal.SIG_SETMASK, before)


def test_a_stop_request_interrupts_the_watching_main_thread_once(tmp_path, sigint_mask):
    request = StopRequest(tmp_path)
    watch = StopWatch(request.path)
    before = signal.getsignal(signal.SIGINT)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), watch.watching():
        request_soon(request)
        time.sleep(30)  # a blocking call: the signal wakes it
    assert watch.fired and time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == sigint_mask


def test_without_a_request_nothing_is_interrupted_and_the_handler_is_restored(tmp_path):
    watch = StopWatch(StopRequest(tmp_path).path)
    before = signal.getsignal(signal.SIGINT)
    with watch.watching():
        time.sleep(1.2)  # past two polls
    assert not watch.fired and signal.getsignal(signal.SIGINT) is before


def test_each_driver_has_its_own_stop_file_and_removes_it(tmp_path):
    first, second = StopRequest(tmp_path), StopRequest(tmp_path)
    first.request()
    assert StopWatch(first.path).requested() and not StopWatch(second.path).requested()
    first.close()
    first.close()  # twice: the driver's finally after its Ctrl-C path
    assert list(tmp_path.iterdir()) == []


def test_a_task_queued_when_the_driver_stopped_does_not_start(tmp_path, monkeypatch):
    request = StopRequest(tmp_path)
    request.request()
    monkeypatch.setattr(ray_task, "execute_in_process", lambda job: pytest.fail("the entry started"))
    assert ray_task.run_job(object(), str(request.path)) == []


def test_a_running_task_asked_to_stop_returns_instead_of_raising(tmp_path, monkeypatch):
    request = StopRequest(tmp_path)
    interrupted = []

    def entry(job):
        request_soon(request)
        try:
            time.sleep(30)
        except KeyboardInterrupt:  # as an entry does: its run recorded interrupted, then raised again
            interrupted.append(True)
            raise
        pytest.fail("not interrupted")

    monkeypatch.setattr(ray_task, "execute_in_process", entry)
    assert ray_task.run_job(object(), str(request.path)) == [] and interrupted


def test_an_interrupt_the_driver_did_not_ask_for_is_raised(tmp_path, monkeypatch):
    def entry(job):
        raise KeyboardInterrupt  # ray.cancel, or a Ctrl-C in the worker's terminal

    monkeypatch.setattr(ray_task, "execute_in_process", entry)
    with pytest.raises(KeyboardInterrupt):
        ray_task.run_job(object(), str(StopRequest(tmp_path).path))
