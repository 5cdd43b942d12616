"""The platform layer: what gilbench asks of the operating system, in one place, for Linux, macOS and Windows.

- a child in a process group of its own (`own_group`): a Ctrl-C at the terminal reaches gilbench alone, which then
  stops the child itself;
- waiting for a child without polling (`wait`);
- killing a child with everything it started (`Tree`);
- the lifeline (`Lifeline`): a cell dies when the orchestrator does, even by SIGKILL;
- a process's peak memory (`peak_rss_kb`) and its CPU time with its reaped children's (`process_cpu_s`);
- other programs' CPU time (`other_processes`, for gilbench.accounting);
- whether every thread's scheduler state can be read (`thread_states_unavailable`, for the sampler of --trace);
- a file written whole or not at all (`atomic_write`: the cell's result, and every file of a run).

Where POSIX or Linux offers something better it is used: a process group killed at once (it also finds workers
whose parent died first), a lifeline pipe read by a small shell process (no thread beside the measured one),
/proc read by hand (kernel threads left out, reaped children's time counted). Elsewhere the portable
implementations run: psutil's process tree, a watchdog process on a pipe from the orchestrator, psutil's CPU
times. GILBENCH_PORTABLE=1 forces the portable ones on Linux too, so that what macOS and Windows run is
exercised here (docs/development.md). Peak memory stays per platform: on Linux the high-water mark VmHWM is the
only reading that is this process's own (ru_maxrss keeps, across exec, the peak of the process that started it).

Standard library only at the top: the cell imports this module under any interpreter given with --python, and
Windows has no `resource` or `fcntl`; psutil is imported where a portable implementation needs it, in gilbench's
own Python (the orchestrator and its watchdog), and only where it is installed in a cell's.
"""

from __future__ import annotations

import os
import subprocess
import sys

PORTABLE = "GILBENCH_PORTABLE"  # 1: the portable implementations on Linux too
KILL_WAIT_S = 5.0  # how long a portable kill waits for the killed processes to be gone (a kill takes milliseconds)
KTHREADD = 2  # Linux: the parent of every kernel thread (they are not other programs)
READY = "ready"  # the portable watchdog's first line: its imports are done, the cell may start


def forced() -> bool:
    """Whether GILBENCH_PORTABLE asks for the portable implementations."""
    return os.environ.get(PORTABLE, "").strip() not in ("", "0")


def posix() -> bool:
    """Process groups and pass_fds (Linux, macOS), unless the portable implementations are forced."""
    return os.name == "posix" and not forced()


def linux() -> bool:
    """/proc (Linux), unless the portable implementations are forced."""
    return sys.platform.startswith("linux") and not forced()


def own_group() -> dict:
    """Popen's keywords for a child in a process group of its own: a new session on POSIX (kept when the
    portable layer is forced: the terminal's Ctrl-C must not reach the cell there either), a new process group on
    Windows (where a console's Ctrl-C then does not reach it)."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def wait(proc: subprocess.Popen, timeout: float) -> None:
    """Wait for a child to end, as Popen.wait(timeout) does (TimeoutExpired when it has not), but return as soon as
    it ends. Popen.wait with a timeout polls, sleeping up to 50 ms between looks: about 25 ms late on average,
    once per repetition, between timed regions. On Linux a pidfd (os.pidfd_open, Linux 5.3+) becomes readable
    when the child ends; elsewhere, and where pidfds are refused, Popen.wait itself."""
    if hasattr(os, "pidfd_open") and linux():
        import select

        try:
            fd = os.pidfd_open(proc.pid)
        except OSError:  # an old kernel, a seccomp filter, or the child already reaped
            fd = -1
        if fd >= 0:
            try:
                if not select.select([fd], [], [], timeout)[0]:
                    raise subprocess.TimeoutExpired(proc.args, timeout)
            finally:
                os.close(fd)
    proc.wait(timeout=timeout)


class Tree:
    """A child started in its own group with own_group(), and everything it starts: `kill()` kills them all.

    Made right after the child starts, before it is waited for. POSIX: its process group at once, orphans
    included (workers whose parent died first). Portable: a psutil handle on the child, taken while its pid is
    surely its own (psutil then refuses a reused pid), and the handle's live descendants at kill(); a descendant
    whose parent has already ended is no longer found."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.handle = None
        if not posix():
            import psutil

            try:
                self.handle = psutil.Process(pid)
            except psutil.Error:
                pass  # it has ended already

    def kill(self) -> None:
        if posix():
            import signal

            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return
        if self.handle is not None:
            kill_all(tree_of(self.handle))


def tree_of(proc) -> list:
    """A psutil process and its live descendants ([] when it has ended: its pid may be another's by now)."""
    import psutil

    try:
        return [proc, *proc.children(recursive=True)] if proc.is_running() else []
    except psutil.Error:
        return []


def kill_all(procs: list) -> None:
    """Kill psutil processes (pid reuse safe: psutil checks each one's creation time) and wait for them."""
    import psutil

    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=KILL_WAIT_S)


class Lifeline:
    """What makes a cell die with the orchestrator, even when it is killed by SIGKILL.

    POSIX: a pipe whose read end the cell gets (pass_fds, its number as the cell's last argument); the cell's
    small shell watchdog reads it and kills the cell's process group at end of file, when the kernel has closed
    the write end with the orchestrator (gilbench.cell). Portable: a watchdog process of gilbench's own Python,
    in a group of its own, reads the cell's pid and then a pipe from the orchestrator; at end of file it kills
    the cell's tree. It is started, and its imports done, before the cell starts, so that it competes with nothing
    measured; it then only waits on the pipe. The cell itself is left as it is: no thread beside the measured one.

        lifeline = Lifeline(); proc = Popen(cmd + lifeline.cell_args(), **lifeline.popen_options())
        lifeline.started(proc.pid); ... ; lifeline.close()
    """

    def __init__(self) -> None:
        self.read: int | None = None
        self.write: int | None = None
        self.watchdog: subprocess.Popen | None = None
        if posix():
            self.read, self.write = os.pipe()
            return
        self.watchdog = subprocess.Popen(
            [sys.executable, "-P", os.path.abspath(__file__), "watch"],  # a script: needs psutil, not gilbench
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            **own_group(),
        )
        assert self.watchdog.stdout is not None  # stdout=PIPE
        if self.watchdog.stdout.readline().strip() != READY:
            self.close()
            raise RuntimeError(f"the cell's watchdog ({sys.executable} {__file__} watch) did not start")

    def cell_args(self) -> list[str]:
        return [str(self.read)] if self.read is not None else []

    def popen_options(self) -> dict:
        return dict(own_group(), pass_fds=(self.read,)) if self.read is not None else own_group()

    def started(self, pid: int | None) -> None:
        """The cell has started (pid), or will not be (None: close() says so)."""
        if self.read is not None:
            os.close(self.read)
            self.read = None
        if self.watchdog is not None and self.watchdog.stdin is not None and pid is not None:
            self.watchdog.stdin.write(f"{pid}\n")
            self.watchdog.stdin.flush()

    def close(self) -> None:
        """After the cell has been reaped: the watchdog is done (the cell's tree is gone already)."""
        self.started(None)
        if self.write is not None:
            os.close(self.write)
            self.write = None
        if self.watchdog is not None:
            if self.watchdog.stdin is not None:
                self.watchdog.stdin.close()
            self.watchdog.wait()
            if self.watchdog.stdout is not None:
                self.watchdog.stdout.close()
            self.watchdog = None


def watch() -> int:
    """The portable watchdog (python oslayer.py watch): say it is ready, read the cell's pid, wait for end
    of file on standard input (the orchestrator closed it, or died), then kill the cell's tree."""
    import psutil

    print(READY, flush=True)
    line = sys.stdin.readline()
    try:
        cell = psutil.Process(int(line))
    except (ValueError, psutil.Error):
        return 0  # no cell started, or it has already ended
    sys.stdin.read()  # until the orchestrator closes the pipe or dies
    kill_all(tree_of(cell))
    return 0


def peak_rss_kb() -> int:
    """This process's peak resident memory in KiB (0 where the platform gives no reading here).

    Linux: its own high-water mark (VmHWM). macOS and the BSDs: ru_maxrss, which macOS gives in bytes and the others
    in KiB. Windows: psutil's peak working set where psutil is installed in this Python."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil
        except ImportError:
            return 0
        return int(getattr(psutil.Process().memory_info(), "peak_wset", 0)) // 1024
    return maxrss_kb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, sys.platform)


def maxrss_kb(maxrss: int, platform: str) -> int:
    """getrusage's ru_maxrss in KiB: macOS gives it in bytes, Linux and the BSDs in KiB."""
    return maxrss // 1024 if platform == "darwin" else maxrss


def process_cpu_s() -> float:
    """CPU time of this process (every thread) and of its children that have been waited for, user and system.
    POSIX: getrusage (microseconds). Windows: os.times(), which has no children's time there."""
    try:
        import resource
    except ImportError:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def other_processes(tree: int | None, hz: float, session: int | None = None) -> dict:
    """The portable reading of other programs' CPU (gilbench.accounting's `_processes`, which says what it is for):
    pid -> (own, reaped children's) CPU time in 1/hz s, of every process but this one and its live descendants
    (the cell, its workers, the watchdog) and, with `tree`, that process's. Reaped children's time is there on
    Linux only (psutil has it nowhere else): elsewhere a program that ended during a repetition goes uncounted.
    Left out besides: the idle process (pid 0), on Linux kernel threads, and with `session` (POSIX) the processes of
    that session: a cell's workers that its end left behind, reparented and not yet reaped (loky's)."""
    import psutil

    out, parents = {}, {}
    for proc in psutil.process_iter(["ppid", "cpu_times"]):
        info = proc.info
        times, ppid = info.get("cpu_times"), info.get("ppid")
        if proc.pid == 0 or times is None or ppid is None:
            continue  # pid 0: the idle process (Windows) or the scheduler; None: it ended or is not ours to read
        if sys.platform.startswith("linux") and KTHREADD in (proc.pid, ppid):
            continue
        if session is not None and same_session(proc.pid, session):
            continue
        kids = getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
        out[proc.pid] = (round((times.user + times.system) * hz), round(kids * hz))
        parents[proc.pid] = ppid
    roots = {os.getpid(), *([tree] if tree is not None else [])}
    return {pid: ticks for pid, ticks in out.items() if not descends(pid, roots, parents)}


def same_session(pid: int, session: int) -> bool:
    """Whether a process belongs to the session (POSIX's getsid; False where there is none, or it ended)."""
    try:
        return hasattr(os, "getsid") and os.getsid(pid) == session
    except OSError:
        return False


def descends(pid: int, roots: set, parents: dict) -> bool:
    """Whether pid is one of roots or below one of them, by the parents' map (pid -> parent pid)."""
    seen = set()
    while pid not in seen:
        if pid in roots:
            return True
        seen.add(pid)
        pid = parents.get(pid, 0)
    return False


def thread_states_unavailable() -> str | None:
    """None where every thread's state and run-queue wait can be read (Linux's /proc/PID/task/TID/schedstat, what
    gilbench.sampler reads for --trace); else why not. No portable implementation: psutil gives no thread's state or
    run-queue wait on any system, so macOS and Windows have no state timeline (GILBENCH_PORTABLE changes nothing
    here)."""
    if not sys.platform.startswith("linux"):
        return f"the state timeline needs Linux's /proc (this is {sys.platform})"
    path = f"/proc/{os.getpid()}/task/{os.getpid()}/schedstat"
    if not os.path.exists(path):
        return f"{path} does not exist (a kernel built without CONFIG_SCHED_INFO / schedstats)"
    try:
        with open(path) as fh:
            run, wait, _ = fh.read().split()
        int(run), int(wait)
    except (OSError, ValueError) as exc:
        return f"{path} is not readable as 'run_ns wait_ns slices' ({exc})"
    return None


def steal_s() -> float:
    """CPU seconds the hypervisor took from all CPUs, by psutil: Linux has the counter; elsewhere 0 (none kept)."""
    import psutil

    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def atomic_write(path, data, writer=None):  # -> pathlib.Path (imported where used: the cell's start stays lean)
    """Write a file so that readers see the old one or the new one, never half of either.

    `data` is text or bytes; or give `writer(tmp_path)` to let a library write the file itself.
    The temporary name is unique per process, so two runs writing at once cannot mix.
    """
    from pathlib import Path

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if writer is not None:
            writer(tmp)
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


if __name__ == "__main__":
    sys.exit(watch() if sys.argv[1:] == ["watch"] else f"usage: {sys.executable} {__file__} watch")
