/**
 * The job runner: a Python 3.8+ program (standard library only) that the
 * executor starts on the bastion over one exec channel, as
 * `python3 -I -c RUNNER_SOURCE` (isolated: a json.py in the login directory
 * cannot shadow the standard library), so nothing is installed there. It runs every
 * build's process over that one channel; see docs/bastion.md for the protocol.
 *
 * In, on stdin: one JSON request per line.
 *   {"op":"run","id":N,"argv":[..],"env":{..},"cwd":DIR,"pidFile":PATH,"nice":0..19,"batch":BOOL?,
 *    "vars":{"path":P,"content":S}?,"workspace":{"buildset":B,"lock":L,"sha":H,"playbook":R?}?}
 *   {"op":"kill","id":N,"graceMs":MS}
 * Out, on stdout: the PREAMBLE line (anything a login shell printed before it is
 * skipped by the client), then frames of a 9-byte header (type, uint32 id, uint32 length; big-endian) and a payload.
 *   H hello {pid, python, batch}   S started {pgid}   O / E stdout / stderr bytes
 *   X exited {code, signal, runner?}   F refused before start {kind, message}
 *   An X or F caused by the runner's own ending (SIGTERM/SIGHUP, stdin EOF) carries
 *   "runner":"ending"; such an X also says whether the group is gone ("groupGone").
 * End of stdin (channel or connection gone) is the watchdog: TERM every group,
 * KILL what is left after 3 s, remove pid and vars files, exit.
 *
 * Written for cost: Popen without preexec_fn on Python 3.11+ (CPython can
 * vfork), one selectors loop, no shell or fork per build beyond the job itself.
 * No backquote or dollar-brace below: this is a TypeScript template literal.
 */
/** The runner's first output line; the client skips whatever comes before it. */
export const RUNNER_PREAMBLE = 'drawbridge-runner-v1';

export const RUNNER_SOURCE = String.raw`
import fcntl, json, os, selectors, shutil, signal, struct, subprocess, sys, time, traceback

HDR = struct.Struct('>cII')
CHUNK = 65536
HIGH_WATER = 1 << 20
WATCHDOG_S = 3.0
TICK_S = 0.05
KILLED_WAIT_S = 1.0

sel = selectors.DefaultSelector()
out = bytearray()
inbuf = bytearray()
jobs = {}
waiting = {}
state = {'ending': None, 'paused': False, 'writing': False, 'stdout_ok': True}
PREAMBLE = b'\ndrawbridge-runner-v1\n'
# A process group of its own, in the runner's session. Not a session of its own:
# with autogroup scheduling (Debian's and Ubuntu's default) each session is a CPU
# group of equal weight, so niced jobs in sessions of their own would each still
# weigh as much as the runner, and a wide level of them would starve it.
# process_group (3.11+) keeps vfork; older Pythons pay a fork for preexec_fn.
GROUP = {'process_group': 0} if sys.version_info >= (3, 11) else {'preexec_fn': os.setpgrp}
# Batch jobs run as 'chrt --batch 0 nice -n N argv': ansible's 1 ms polling wake-ups
# then never preempt the start-ups beside them (docs/performance.md, sixth round).
# chrt in the child keeps the runner's vfork, and nice comes after it because some
# chrt versions reset the nice value. Without either, jobs run as SCHED_OTHER.
CHRT = shutil.which('chrt')
NICE = shutil.which('nice')


def complain(what):
    # stderr is the executor's diagnostics tail; a failure there must not matter.
    try:
        sys.stderr.write('drawbridge-runner: %s\n%s' % (what, traceback.format_exc()))
        sys.stderr.flush()
    except Exception:
        pass


def send(kind, jid, payload=b''):
    if state['stdout_ok']:
        out.extend(HDR.pack(kind, jid, len(payload)))
        out.extend(payload)


def send_json(kind, jid, obj):
    send(kind, jid, json.dumps(obj, separators=(',', ':')).encode())


def unlink(path):
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def vars_path(req):
    return (req.get('vars') or {}).get('path')


def refuse(jid, kind, message, req=None, extra=None):
    if req is not None:
        unlink(vars_path(req))
    obj = {'kind': kind, 'message': message}
    if extra:
        obj.update(extra)
    send_json(b'F', jid, obj)


def signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def live_groups():
    # Process groups with a live (non-zombie) member: zombies are their parent's business.
    groups = set()
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/' + name + '/stat', 'rb') as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(b')') + 2:].split(b' ', 3)
        if len(fields) > 2 and fields[0] != b'Z':
            groups.add(int(fields[2]))
    return groups


class Job(object):
    def __init__(self, jid, req, proc):
        self.id = jid
        self.req = req
        self.proc = proc
        self.pgid = proc.pid
        self.files = {}
        self.kill_at = None
        self.hard_at = None
        self.reaped = False
        # Set when the runner's own ending (not the client) killed it.
        self.by_runner = False


def write_file(path, data, mode):
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
        fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def head_of(d):
    # Workspaces are detached checkouts: HEAD holds the commit itself. Never run git
    # here: it would freeze the loop, and with it every job's output, reaping and kills.
    try:
        with open(os.path.join(d, '.git', 'HEAD'), errors='replace') as f:
            return f.readline(200).strip()
    except OSError:
        return ''


def check(req):
    ws = req.get('workspace')
    if not ws:
        return None
    d = req['cwd']
    if not os.path.isdir(d):
        return ('no-workspace', 'workspace %s does not exist' % d)
    got = head_of(d)
    if got != ws['sha']:
        return ('wrong-commit', 'workspace HEAD holds %s, expected %s' % (json.dumps(got) if got else 'nothing', ws['sha']))
    pb = ws.get('playbook')
    if pb and not os.path.exists(os.path.join(d, pb)):
        return ('playbook-missing', 'playbook %s does not exist in %s' % (pb, d))
    return None


def run(req):
    jid = req['id']
    ws = req.get('workspace')
    lockfd = -1
    if ws:
        try:
            lockfd = os.open(ws['lock'], os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return refuse(jid, 'no-workspace', 'no checkout of buildset %s on this bastion' % ws['buildset'], req)
        try:
            fcntl.flock(lockfd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            # A checkout holds it exclusively for a moment: retried every tick, never blocking the loop.
            waiting[jid] = (req, lockfd)
            return
        except OSError as e:
            os.close(lockfd)
            return refuse(jid, 'no-workspace', 'cannot lock the workspace of buildset %s: %s' % (ws['buildset'], e.strerror), req)
    try:
        launch(req, lockfd)
    finally:
        if lockfd >= 0:
            os.close(lockfd)


def launch(req, lockfd):
    # Whatever goes wrong with one request refuses that request only: an exception
    # escaping the loop would end the runner and orphan every other job.
    jid = req['id']
    try:
        launch_checked(req, lockfd)
    except Exception as e:
        complain('cannot start job %d' % jid)
        if jid not in jobs:
            refuse(jid, 'bad-request', '%s: %s' % (type(e).__name__, e), req)


def launch_checked(req, lockfd):
    jid = req['id']
    bad = check(req)
    if bad:
        return refuse(jid, bad[0], bad[1], req)
    v = req.get('vars')
    if v:
        try:
            data = v['content'].encode('utf-8')
        except UnicodeEncodeError as e:
            # A lone surrogate (JSON.stringify passes one through as an escape): no file can hold it as UTF-8.
            return refuse(jid, 'bad-request', 'vars content is not valid Unicode: %s' % e, req)
        try:
            write_file(v['path'], data, 0o600)
        except OSError as e:
            return refuse(jid, 'vars', 'cannot write %s: %s' % (v['path'], e.strerror), req)
    env = dict(os.environ)
    env.update(req.get('env') or {})
    argv = req['argv']
    command = argv
    if batched(req):
        nice = req.get('nice') or 0
        command = [CHRT, '--batch', '0'] + ([NICE, '-n', str(nice)] if nice else []) + list(argv)
    try:
        # The job inherits the shared workspace lock, so it is held while any of its processes lives.
        proc = subprocess.Popen(command, cwd=req.get('cwd'), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=(lockfd,) if lockfd >= 0 else (), **GROUP)
    except (OSError, ValueError, TypeError, subprocess.SubprocessError) as e:
        return refuse(jid, 'spawn', 'cannot run %s: %s' % (argv[0] if argv else '(nothing)', e), req)
    job = Job(jid, req, proc)
    try:
        started(job, req)
    except Exception:
        # The process exists but is not tracked: it must not outlive this refusal.
        signal_group(job.pgid, signal.SIGKILL)
        proc.wait()
        for fd in list(job.files):
            close_pipe(job, fd)
        for f in (proc.stdout, proc.stderr):
            f.close()
        unlink(req.get('pidFile'))
        raise


def batched(req):
    return bool(req.get('batch') and CHRT and NICE and req.get('argv'))


def started(job, req):
    jid = job.id
    proc = job.proc
    nice = req.get('nice') or 0
    if nice and not batched(req):
        try:
            os.setpriority(os.PRIO_PGRP, job.pgid, nice)
        except OSError:
            pass
    pid_file = req.get('pidFile')
    if pid_file:
        try:
            write_file(pid_file, ('%d\n' % job.pgid).encode(), 0o644)
        except OSError as e:
            signal_group(job.pgid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
            return refuse(jid, 'spawn', 'cannot write %s: %s' % (pid_file, e.strerror), req)
    for kind, f in ((b'O', proc.stdout), (b'E', proc.stderr)):
        fd = f.fileno()
        os.set_blocking(fd, False)
        job.files[fd] = (f, kind)
        if not state['paused']:
            sel.register(fd, selectors.EVENT_READ, (job, kind))
    jobs[jid] = job
    send_json(b'S', jid, {'pgid': job.pgid})
    # Out now, not after the rest of the batch: the executor dates the start by this frame,
    # and with a 28-job request batch the last starts were dated 60 ms late.
    flush()


def kill(req):
    jid = req['id']
    grace = max(0, int(req.get('graceMs', 5000))) / 1000.0
    if jid in waiting:
        r, fd = waiting.pop(jid)
        os.close(fd)
        return refuse(jid, 'canceled', 'canceled before it started', r)
    job = jobs.get(jid)
    if job is None:
        return
    job.by_runner = False
    if job.kill_at is not None:
        return
    job.kill_at = time.monotonic() + grace
    signal_group(job.pgid, signal.SIGTERM)


def pump(job, kind, fd):
    try:
        data = os.read(fd, CHUNK)
    except BlockingIOError:
        return True
    except OSError:
        data = b''
    if data:
        send(kind, job.id, data)
        return True
    close_pipe(job, fd)
    return False


def close_pipe(job, fd):
    f, _ = job.files.pop(fd)
    try:
        sel.unregister(fd)
    except (KeyError, ValueError):
        pass
    f.close()


def reap():
    for job in list(jobs.values()):
        try:
            if not job.reaped and job.proc.poll() is not None:
                job.reaped = True
                for fd in list(job.files):
                    drain(job, fd)
                settle(job, None)
        except Exception:
            lost(job, 'reaping')


def lost(job, what):
    # One job's trouble must not end the loop (and orphan the others): kill it, report it gone.
    complain('%s job %d' % (what, job.id))
    signal_group(job.pgid, signal.SIGKILL)
    for fd in list(job.files):
        try:
            close_pipe(job, fd)
        except Exception:
            pass
    if jobs.get(job.id) is job:
        try:
            job.proc.wait(timeout=1)
        except Exception:
            pass
        try:
            finish(job)
        except Exception:
            jobs.pop(job.id, None)
            send_json(b'X', job.id, {'code': None, 'signal': 'KILL'})


def drain(job, fd):
    # Output written before the exit is still in the pipe (at most its 64 KiB);
    # a lingering child's later output is not waited for.
    kind = job.files[fd][1]
    for _ in range(64):
        try:
            data = os.read(fd, CHUNK)
        except OSError:
            break
        if not data:
            break
        send(kind, job.id, data)
    close_pipe(job, fd)


def settle(job, groups):
    # A killed job is reported once its whole group is gone (or KILL had a moment to work).
    if not job.reaped:
        return groups
    if job.kill_at is not None:
        if job.hard_at is None or time.monotonic() < job.hard_at + KILLED_WAIT_S:
            if groups is None:
                groups = live_groups()
            if job.pgid in groups:
                return groups
    finish(job)
    return groups


def finish(job):
    del jobs[job.id]
    unlink(job.req.get('pidFile'))
    unlink(vars_path(job.req))
    rc = job.proc.returncode
    if rc is not None and rc < 0:
        try:
            name = signal.Signals(-rc).name[3:]
        except ValueError:
            name = str(-rc)
        x = {'code': 128 - rc, 'signal': name}
    else:
        x = {'code': rc, 'signal': None}
    if job.by_runner:
        # Not the playbook's result: the client reports the runner lost, retryable if the group is gone.
        x['runner'] = 'ending'
        x['groupGone'] = job.pgid not in live_groups()
    send_json(b'X', job.id, x)


def tick():
    now = time.monotonic()
    for jid in list(waiting):
        entry = waiting.get(jid)
        if entry is None:
            # A launch above found the executor gone (its start frame could not be
            # written) and the runner ending refused every job still waiting.
            continue
        req, fd = entry
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            continue
        except OSError as e:
            del waiting[jid]
            os.close(fd)
            ws = req.get('workspace') or {}
            refuse(jid, 'no-workspace', 'cannot lock the workspace of buildset %s: %s' % (ws.get('buildset'), e.strerror), req)
            continue
        del waiting[jid]
        try:
            launch(req, fd)
        finally:
            os.close(fd)
    groups = None
    for job in list(jobs.values()):
        if job.kill_at is None:
            continue
        try:
            if job.hard_at is None and now >= job.kill_at:
                if groups is None:
                    groups = live_groups()
                if job.pgid in groups or not job.reaped:
                    signal_group(job.pgid, signal.SIGKILL)
                job.hard_at = now
            groups = settle(job, groups)
        except Exception:
            lost(job, 'killing')


def begin_end():
    if state['ending'] is not None:
        return
    state['ending'] = time.monotonic() + WATCHDOG_S
    # Id 0: tells the client to send new jobs to a new runner. Requests that still come are refused.
    refuse(0, 'runner-ending', 'the job runner is ending', None, {'runner': 'ending'})
    for jid in list(waiting):
        req, fd = waiting.pop(jid)
        os.close(fd)
        refuse(jid, 'runner-ending', 'the job runner is ending', req, {'runner': 'ending'})
    for job in jobs.values():
        # A leader that already exited ended by itself: its exit is reported as it was.
        if job.kill_at is None and job.proc.poll() is None:
            job.by_runner = True
        if job.kill_at is None or job.kill_at > state['ending']:
            job.kill_at = state['ending']
        signal_group(job.pgid, signal.SIGTERM)


def flush():
    if out and state['stdout_ok']:
        try:
            del out[:os.write(1, out)]
        except BlockingIOError:
            pass
        except OSError:
            # Nobody reads us any more: the executor is gone.
            state['stdout_ok'] = False
            del out[:]
            begin_end()
    want = bool(out)
    if want != state['writing']:
        if want:
            sel.register(1, selectors.EVENT_WRITE, 'out')
        else:
            sel.unregister(1)
        state['writing'] = want
    # Backpressure: stop reading the jobs while the channel is behind.
    pause = len(out) > HIGH_WATER
    if pause != state['paused']:
        state['paused'] = pause
        for job in jobs.values():
            for fd, (_, kind) in job.files.items():
                if pause:
                    sel.unregister(fd)
                else:
                    sel.register(fd, selectors.EVENT_READ, (job, kind))


def read_requests():
    try:
        data = os.read(0, CHUNK)
    except BlockingIOError:
        return
    except OSError:
        data = b''
    if not data:
        try:
            sel.unregister(0)
        except (KeyError, ValueError):
            pass
        begin_end()
        return
    inbuf.extend(data)
    start = 0
    while True:
        nl = inbuf.find(b'\n', start)
        if nl < 0:
            break
        line = bytes(inbuf[start:nl])
        start = nl + 1
        if line.strip():
            handle(line)
    del inbuf[:start]


def handle(line):
    jid = 0
    try:
        req = json.loads(line)
        jid = int(req.get('id', 0))
        op = req.get('op')
        if op == 'run':
            if state['ending'] is not None:
                return refuse(jid, 'runner-ending', 'the job runner is ending', req, {'runner': 'ending'})
            if jid in jobs or jid in waiting:
                return refuse(jid, 'bad-request', 'id %d is in use' % jid)
            run(req)
        elif op == 'kill':
            kill(req)
        else:
            refuse(jid, 'bad-request', 'unknown op %r' % (op,))
    except Exception as e:
        refuse(jid, 'bad-request', '%s: %s' % (type(e).__name__, e))


def on_signal(signum, frame):
    # Only a flag: a handler runs between any two bytecodes, and a frame
    # written from here could land inside another frame half built in out.
    state['signalled'] = True


def main():
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    os.set_blocking(1, False)
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(wake_r, selectors.EVENT_READ, 'wake')
    out.extend(PREAMBLE)
    send_json(b'H', 0, {'pid': os.getpid(), 'python': sys.version.split()[0], 'batch': bool(CHRT and NICE)})
    while True:
        if state.get('signalled'):
            begin_end()
        flush()
        ending = state['ending']
        if ending is not None and not jobs:
            break
        busy = waiting or ending is not None or any(j.kill_at is not None for j in jobs.values())
        for key, _ in sel.select(TICK_S if busy else None):
            # Last guard: the loop outlives any bug, since its end orphans every job.
            try:
                event(key, wake_r)
            except Exception:
                complain('event on fd %d' % key.fd)
        if busy:
            try:
                tick()
            except Exception:
                complain('tick')
    # The last frames (exits above all) must reach the executor: block, but not forever.
    deadline = time.monotonic() + 10.0
    while out and state['stdout_ok'] and time.monotonic() < deadline:
        flush()
        if out:
            sel.select(0.05)


def event(key, wake_r):
    data = key.data
    if data == 'in':
        read_requests()
    elif data == 'out':
        flush()
    elif data == 'wake':
        try:
            while os.read(wake_r, 512):
                pass
        except OSError:
            pass
        reap()
    else:
        job, kind = data
        if key.fd in job.files:
            try:
                pump(job, kind, key.fd)
            except Exception:
                lost(job, 'reading')


main()
`;
