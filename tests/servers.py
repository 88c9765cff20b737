"""The app under test in a server process of its own, on loopback.

An in-process server cannot show what the hostile-client and crash suites assert on: the
server's own memory, threads and CPU, ``kill -9`` and a restart over the same media folder. So
these tests start the server as a deployment would, in its own process group: Werkzeug's
threaded server (what ``flask run`` uses), gunicorn's gthread worker (README's deployment) or
gunicorn's gevent worker (many open pages). The app is a factory (``"module:function"``) that
reads its config from :data:`CONFIG_ENV`, so each test picks its limits without a module of its
own. The benchmarks serve their apps with the same class.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
#: JSON object of config keys the test app applies over its defaults.
CONFIG_ENV = "FG_TEST_CONFIG"
#: The app's instance folder (its media store lives there).
INSTANCE_ENV = "FG_TEST_INSTANCE"
Kind = t.Literal["werkzeug", "gunicorn", "gevent"]
KINDS: tuple[Kind, ...] = ("werkzeug", "gunicorn", "gevent")
#: Seconds a server may take to listen (gunicorn with gevent imports a lot on a busy machine).
START_LIMIT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``app`` served by ``kind`` in a new process group; a context manager that stops it.

    :param app: the app factory, ``"module:function"`` importable from the repository root.
    :param instance: the app's instance folder; it outlives :meth:`kill`, so a restart with
        :meth:`start` finds what the killed process stored.
    :param config: ``GALLERY_*`` (and other) config keys for the app, as JSON values.
    :param threads: gunicorn's ``--threads`` (gthread) or ``--worker-connections`` (gevent).
    :param workers: gunicorn's ``--workers`` (worker processes); Werkzeug's server has one.
    :param env: environment variables for the server, over this process's.
    :param log: a file the server's output (stdout and stderr) is appended to, instead of this
        process's.
    """

    #: Server kinds a subclass may add to (with a :meth:`command` of its own for them).
    kinds: tuple[str, ...] = KINDS
    start_limit = START_LIMIT

    def __init__(
        self,
        app: str,
        instance: Path,
        *,
        kind: str = "werkzeug",
        config: t.Mapping[str, t.Any] | None = None,
        threads: int = 32,
        workers: int = 1,
        env: t.Mapping[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        if kind not in self.kinds:
            raise ValueError(f"Unknown server kind {kind!r}: use one of {self.kinds}.")
        if workers != 1 and kind == "werkzeug":
            raise ValueError(f"Werkzeug's server runs one process; got workers={workers!r}.")
        self.app, self.instance, self.kind, self.threads = app, instance, kind, threads
        self.workers = workers
        self.config = dict(config or {})
        self.extra_env = dict(env or {})
        self.log = log
        self.port = free_port()
        self.host = f"{HOST}:{self.port}"
        self.url = f"http://{self.host}"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.kind == "werkzeug":
            return [sys.executable, "-m", "tests.apps.run", self.app, str(self.port)]
        worker = (
            ["--worker-class=gevent", f"--worker-connections={self.threads}"]
            if self.kind == "gevent"
            else [f"--threads={self.threads}"]
        )
        return [
            sys.executable,
            "-m",
            "gunicorn",
            f"--workers={self.workers}",
            *worker,
            f"--bind={self.host}",
            f"--chdir={ROOT}",
            "--config=python:tests.apps.gunicorn_ready",
            "--log-level=warning",
            "--graceful-timeout=5",
            f"{self.app}()",
        ]

    def start(self) -> ServerProcess:
        """Start (or, after :meth:`kill`, start again) and wait until it listens and, under
        gunicorn, every worker has loaded the app."""
        env = dict(os.environ, **self.extra_env)
        ready = Path(self.instance).parent / f"ready-{self.port}"
        ready.mkdir(parents=True, exist_ok=True)
        for mark in ready.iterdir():  # a restart waits for its own workers
            mark.unlink()
        env["FG_READY_DIR"] = str(ready)
        env[CONFIG_ENV] = json.dumps(self.config)
        env[INSTANCE_ENV] = str(self.instance)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        with contextlib.ExitStack() as files:
            out = files.enter_context(self.log.open("ab")) if self.log else None
            self.proc = subprocess.Popen(
                self.command(),
                env=env,
                cwd=ROOT,
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
            )
        deadline = time.monotonic() + self.start_limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.kind} server exited with {self.proc.returncode}")
            booted = self.kind == "werkzeug" or len(list(ready.iterdir())) >= self.workers
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.2):
                if booted:
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the {self.kind} server did not listen within {self.start_limit:.0f} s")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after 10 s."""
        if self.proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """``kill -9`` of every process of the server, as a crash or the OOM killer would."""
        if self.proc is None:
            return
        self._signal(signal.SIGKILL)
        self.proc.wait(10)

    def pids(self) -> list[int]:
        """The server process and its descendants (gunicorn's worker)."""
        if self.proc is None:
            return []
        parents = _parents()
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += [child for child, parent in parents.items() if parent == pid]
        return found

    def worker_pid(self) -> int:
        """The process that runs the app: gunicorn's worker, else the server itself."""
        pids = self.pids()
        return pids[-1] if self.kind != "werkzeug" else pids[0]

    def worker_pids(self) -> list[int]:
        """The processes that run the app: gunicorn's workers (the server's children), else
        the server itself."""
        if self.proc is None:
            return []
        if self.kind == "werkzeug":
            return [self.proc.pid]
        return sorted(pid for pid, parent in _parents().items() if parent == self.proc.pid)

    @contextlib.contextmanager
    def only(self, pid: int) -> t.Iterator[None]:
        """Only worker ``pid`` accepts connections meanwhile: the others are stopped, and go on
        after (a few milliseconds: gunicorn's arbiter kills a worker silent for 30 s)."""
        stopped = [other for other in self.worker_pids() if other != pid]
        for other in stopped:
            os.kill(other, signal.SIGSTOP)
        try:
            yield
        finally:
            for other in stopped:
                os.kill(other, signal.SIGCONT)

    def _status(self, field: str) -> int:
        """The largest value of a ``/proc/<pid>/status`` field among the server's processes."""
        largest = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(field + ":"):
                        largest = max(largest, int(line.split()[1]))
        return largest

    def rss_mib(self) -> float:
        """Resident memory now (MiB) of the server's largest process."""
        return self._status("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        """Peak resident memory (MiB) since start or :meth:`reset_peak`."""
        return self._status("VmHWM") / 1024

    def reset_peak(self) -> None:
        """Start the peak over from the current RSS (Linux: ``clear_refs`` 5)."""
        for pid in self.pids():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def held_bytes(self, folder: Path) -> int:
        """Bytes of the files under ``folder`` the server's processes hold open, deleted ones
        included (Python's temporary files are unlinked at once): how much of a request body
        the server spooled there, with ``TMPDIR=folder`` in its environment."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(folder)):
                            total += os.stat(f"/proc/{pid}/fd/{fd}").st_size
        return total

    def threads_now(self) -> int:
        """OS threads of the server's largest process."""
        return self._status("Threads")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server's processes so far."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / CLK_TCK

    def waits(self) -> int:
        """Times the server's live threads have blocked so far (voluntary context switches):
        each is a wait for a lock, an event, the GIL or the network, so their growth per click
        counts a click's thread hand-offs. Threads that ended take their count with them."""
        total = 0
        for pid in self.pids():
            for status in Path(f"/proc/{pid}/task").glob("*/status"):
                with contextlib.suppress(OSError, IndexError, ValueError):
                    total += int(status.read_text().split("voluntary_ctxt_switches:")[1].split()[0])
        return total


def _parents() -> dict[int, int]:
    """Every process's parent, by pid."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def raise_open_files(needed: int) -> int:
    """Raise this process's open-files limit to ``needed`` (servers started afterwards inherit
    it), within the hard limit; returns the new limit. Thousands of open pages are as many
    sockets at each end, beyond the usual soft limit of 1,024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"{needed} open files are needed and the hard limit is {hard}: raise it "
            f"(ulimit -Hn {needed}, or LimitNOFILE= for a service) and run again."
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return needed
    return soft
