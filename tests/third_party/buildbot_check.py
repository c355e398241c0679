"""A real Buildbot master (from PyPI) reporting through `hipkit serve`'s relay.

Usage: VENV/bin/python buildbot_check.py PATH_TO_HIPKIT_BINARY SNIPPET
Run with the Python of a virtualenv holding buildbot and buildbot-worker (their scripts are
taken from beside it). SNIPPET names a master.cfg block of docs/build-status.md, the one
after the line `<!-- master.cfg: SNIPPET -->`: that block, verbatim but for its relay URL,
is the master's reporter. The rest of master.cfg is this check's own: a local worker, one
builder running a trivial shell step, a PB change source, a change scheduler and a force
scheduler, all on loopback free ports. `hipkit serve` runs with its built-in emulator and a
HipChat reporter mapping the builder to a room. When the virtualenv has buildbot-www, the
master serves its web UI and REST API on loopback and the build is forced through that API
(as a person's "Force" button does); otherwise one change is sent (`buildbot sendchange`).
The build's started and finished messages must reach the room with Buildbot's
HipChatStatusPush wording, once each and in that order.
SNIPPET `bridge` (run with Buildbot 2.x, the last with HipChatStatusPush) takes its block from
docs/bridge.md instead: Buildbot's own `reporters.HipChatStatusPush`, its `endpoint` pointed
at the `[bridge]` listener of `hipkit serve`, whose one room forwards to a separate `hipkit
emulator` (the `hipchat` destination kind); the two messages must arrive there the same way.
Every process started here is stopped on the way out, also when the check fails.
"""
import contextlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import emulator

DOCS = Path(__file__).resolve().parents[2] / "docs" / "build-status.md"
DOC_URL = "https://hipkit.example.com/hooks/buildbot"
# The `bridge` snippet: docs/bridge.md's block, naming the bridge at its default address.
BRIDGE_DOCS = DOCS.parent / "bridge.md"
BRIDGE_DOC_URL = "http://127.0.0.1:8280"
BUILDER = "runtests"
ROOM = "Builds"
MASTER_URL = "http://127.0.0.1:8010/"  # only used in build URLs: the master serves no web UI
# What Buildbot logs when its reporter's POST fails or is refused (it does not retry).
REPORTER_FAILURES = ("unable to upload status", "Got exception when handling reporter events")
# Buildbot 2.x's HipChatStatusPush logs `{code}: unable to upload status` for every answer
# but 200, HipChat's own 204 for a room notification included: that line is no failure.
HIPCHAT_NOTIFIED = "204: unable to upload status"
WAIT = 120  # seconds before a stage is declared stuck (never a timing assertion)

HARNESS = """\
# The check's own part: worker, builder, change source, scheduler, secrets (loopback only).
from buildbot.plugins import changes, schedulers, secrets, steps, util, worker

c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['title'] = "hipkit relay check"
c['buildbotURL'] = "{master_url}"
c['db'] = {{'db_url': "sqlite:///state.sqlite"}}
c['protocols'] = {{'pb': {{'port': "tcp:{pb_port}:interface=127.0.0.1"}}}}
c['workers'] = [worker.Worker("local", "{worker_pass}")]
c['change_source'] = [changes.PBChangeSource(user="change", passwd="{change_pass}")]
c['schedulers'] = [
    schedulers.AnyBranchScheduler(name="on-change", treeStableTimer=None, builderNames=["{builder}"]),
    schedulers.ForceScheduler(name="force", builderNames=["{builder}"]),
]
c['www'] = {{'port': {www_port!r}, 'plugins': {{}}}}
c['builders'] = [util.BuilderConfig(
    name="{builder}", workernames=["local"],
    factory=util.BuildFactory([steps.ShellCommand(command=["true"])]))]
c['secretsProviders'] = [secrets.SecretInAFile(dirname="{secrets_dir}")]
c['services'] = []

# The documented snippet ({snippet}), verbatim but for its relay URL.
"""

HIPKIT_TOML = """\
[emulator]
listen = "127.0.0.1:0"
rooms = ["{room}"]

[[reporters.hipchat]]
builder_room_map = {{ "{builder}" = "{room}" }}

[reporters.relay]
user = "buildbot"
password = "{password}"
"""


BRIDGE_TOML = """\
[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "{token}", scopes = ["send_notification", "send_message"] }}]

[[bridge.rooms]]
name = "{room}"
to = ["old-hipchat"]

[[bridge.destinations]]
name = "old-hipchat"
kind = "hipchat"
endpoint = "{emulator}"
token = "{emulator_token}"
"""


def snippet(name, docs=DOCS, url=DOC_URL):
    """The ```python block after `<!-- master.cfg: NAME -->` in `docs`, which names `url` once."""
    text = docs.read_text(encoding="utf-8")
    marker = f"<!-- master.cfg: {name} -->"
    if text.count(marker) != 1:
        raise SystemExit(f"{docs} has {text.count(marker)} `{marker}` lines; expected 1")
    found = re.match(r"\s*```python\n(.*?)```", text.split(marker, 1)[1], re.S)
    if not found:
        raise SystemExit(f"no ```python block right after `{marker}` in {docs}")
    block = found.group(1)
    if block.count(url) != 1:
        raise SystemExit(f"the `{name}` snippet must name hipkit as {url} once")
    return block


def free_port():
    """A loopback port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    """This environment without hipkit's and HipChat's own variables."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("HIPKIT_", "HIPCHAT_"))
    }


def buildbot_env(home):
    """A minimal environment for Buildbot: the worker logs each step's environment, and a
    failing check prints that log."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
            "LANG": "C.UTF-8", "PYTHONWARNINGS": "ignore"}


def tail(path, lines=40):
    """The last lines of a log file, or a note that it is missing."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} is missing)"


def rest(base, path, payload=None):
    """The master's REST API: GET `path`, or POST `payload` (JSON-RPC) to it; None if it does
    not answer yet."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(base + "api/v2/" + path, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as refused:
        return {"error": f"HTTP {refused.code}: {refused.read().decode(errors='replace')}"}
    except OSError:
        return None


def force_build(base, procs, logs):
    """Forces a build of the builder through the REST API, as the web UI's Force button does."""
    builders = wait_for("the master's REST API",
                        lambda: rest(base, f"builders?name={BUILDER}"), procs, logs)
    if "error" in builders or not builders.get("builders"):
        fail(f"the REST API does not list builder {BUILDER!r}: {builders!r}", logs)
    builder_id = builders["builders"][0]["builderid"]
    answer = rest(base, "forceschedulers/force", {
        "jsonrpc": "2.0", "id": 1, "method": "force",
        "params": {"builderid": str(builder_id),
                   "username": "hipkit check <check@example.com>",
                   "reason": "hipkit relay check"},
    })
    if not answer or "error" in answer:
        fail(f"forcing a build through the REST API failed: {answer!r}", logs)


def wait_for(what, check, procs, logs):
    """Polls `check` until it returns a truthy value; fails naming `what` and the logs."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for name, proc in procs.items():
            if proc.poll() is not None:
                fail(f"{name} exited ({proc.returncode}) while waiting for {what}", logs)
        time.sleep(0.5)
    fail(f"gave up waiting for {what}", logs)


def reporter_failed(logs, answered=()):
    """Fails at once when the master's log shows its reporter failing to post to hipkit;
    lines holding one of `answered` are the reporter misreading a success, not failures."""
    master_log = "\n".join(line for line in tail(logs["master"], 10**6).splitlines()
                           if not any(ok in line for ok in answered))
    for sign in REPORTER_FAILURES:
        if sign in master_log:
            fail(f"the master logged `{sign}`", logs)


def run(args, env, logs):
    """Runs a Buildbot command to its end and returns its output; fails with that output
    (not the command line, which holds passwords) when it exits non-zero."""
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"`{Path(args[0]).name} {args[1]}` exited {done.returncode}:\n"
             f"{done.stdout}{done.stderr}", logs)
    return done.stdout


def fail(why, logs):
    """Exits with `why` and the tail of every log."""
    for name, path in logs.items():
        print(f"--- {name} ({path}):\n{tail(path)}", file=sys.stderr)
    raise SystemExit(f"buildbot check: {why}")


@contextlib.contextmanager
def started(procs, name, args, log, **kwargs):
    """Starts a process logging to `log`, registered in `procs`; stops it on the way out."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)
    procs[name] = proc
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc):
    """Terminates a process if it still runs (SIGKILL after 30 s) and reaps it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def shown(banner):
    """The banner lines fit to print: the emulator token's line is left out."""
    return [line for line in banner if "token" not in line]


def start_serve(binary, work, procs, logs):
    """`hipkit serve` with its emulator and the relay, the relay's basic-auth password a fresh
    random one; (relay URL, emulator URL, emulator token, relay password)."""
    password = secrets.token_urlsafe(16)
    config = work / "hipkit.toml"
    config.write_text(HIPKIT_TOML.format(room=ROOM, builder=BUILDER, password=password))
    logs["hipkit serve"] = work / "serve.log"
    with open(logs["hipkit serve"], "wb") as err:
        proc = subprocess.Popen(
            [binary, "serve", "--config", str(config), "--listen", "127.0.0.1:0",
             "--store", str(work / "hipkit.db")],
            stdout=subprocess.PIPE,
            stderr=err,
            env=clean_env(),
            text=True,
        )
    procs["hipkit serve"] = proc
    banner = []
    for line in proc.stdout:
        banner.append(line.rstrip())
        if "emulator token" in line:
            break
    else:
        fail(f"hipkit serve printed no emulator token: {shown(banner)}", logs)
    relay = next((l.split()[-1] for l in banner if "listening on" in l), None)
    emu = next((re.search(r"built-in emulator at (\S+)", l) for l in banner
                if "built-in emulator at" in l), None)
    if not relay or not emu:
        fail(f"unexpected hipkit serve banner: {shown(banner)}", logs)
    return f"{relay}/hooks/buildbot", emu.group(1), banner[-1].split()[-1], password


def start_bridge(binary, work, procs, logs, emu, emu_token):
    """`hipkit serve` whose `[bridge]` forwards ROOM to the emulator at `emu`, its caller
    token a fresh random one; (bridge URL, token)."""
    token = secrets.token_urlsafe(16)
    config = work / "hipkit.toml"
    config.write_text(BRIDGE_TOML.format(token=token, room=ROOM, emulator=emu,
                                         emulator_token=emu_token))
    env = clean_env()
    env.update(HIPCHAT_ENDPOINT=emu, HIPCHAT_API_TOKEN=emu_token)
    logs["hipkit serve"] = work / "serve.log"
    with open(logs["hipkit serve"], "wb") as err:
        proc = subprocess.Popen(
            [binary, "serve", "--config", str(config), "--listen", "127.0.0.1:0",
             "--store", str(work / "hipkit.db")],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
        )
    procs["hipkit serve"] = proc
    banner = []
    for line in proc.stdout:
        banner.append(line.rstrip())
        if line.split()[:1] == ["delivery:"]:
            break
    else:
        fail(f"hipkit serve printed no delivery: line: {shown(banner)}", logs)
    url = next((w for l in banner if l.split()[:1] == ["bridge:"]
                for w in l.split() if w.startswith("http://")), None)
    if not url:
        fail(f"hipkit serve printed no bridge: line: {shown(banner)}", logs)
    return url, token


def main(binary, name):
    bin_dir = Path(sys.executable).parent
    buildbot, buildbot_worker = bin_dir / "buildbot", bin_dir / "buildbot-worker"
    for tool in (buildbot, buildbot_worker):
        if not tool.exists():
            raise SystemExit(f"buildbot check: {tool} is missing (install buildbot-worker too)")
    bridge = name == "bridge"
    block = snippet(name, BRIDGE_DOCS, BRIDGE_DOC_URL) if bridge else snippet(name)
    answered = (HIPCHAT_NOTIFIED,) if bridge else ()
    procs, logs = {}, {}
    # SIGTERM (scripts/test's cleanup, CI cancelling) unwinds through the `finally`s too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("buildbot check: terminated"))
    with tempfile.TemporaryDirectory(prefix="hipkit-buildbot-") as tmp:
        work = Path(tmp)
        emulated = contextlib.ExitStack()  # the bridge's destination: a `hipkit emulator`
        try:
            if bridge:
                token = secrets.token_urlsafe(16)
                emu = emulated.enter_context(emulator.running(binary, token, "--room", ROOM))
                relay, password = start_bridge(binary, work, procs, logs, emu, token)
                secret, doc_url = "hipkit_bridge_token", BRIDGE_DOC_URL
            else:
                relay, emu, token, password = start_serve(binary, work, procs, logs)
                secret, doc_url = "hipkit_relay_password", DOC_URL
            env = buildbot_env(work)

            master = work / "master"
            run([buildbot, "create-master", "-q", str(master)], env, logs)
            secrets_dir = work / "secrets"
            secrets_dir.mkdir(mode=0o700)
            (secrets_dir / secret).write_text(password)
            (secrets_dir / secret).chmod(0o600)
            pb_port = free_port()
            has_www = importlib.util.find_spec("buildbot_www") is not None
            www_port = f"tcp:{free_port()}:interface=127.0.0.1" if has_www else None
            worker_pass, change_pass = secrets.token_hex(8), secrets.token_hex(8)
            (master / "master.cfg").write_text(
                HARNESS.format(master_url=MASTER_URL, pb_port=pb_port, worker_pass=worker_pass,
                               change_pass=change_pass, builder=BUILDER, www_port=www_port,
                               secrets_dir=secrets_dir, snippet=name)
                + block.replace(doc_url, relay)
            )
            logs["master"] = master / "twistd.log"
            with contextlib.ExitStack() as stack:
                stack.enter_context(started(
                    procs, "master", [buildbot, "start", "--nodaemon", str(master)],
                    work / "master.out", env=env))
                logs["master stdout"] = work / "master.out"
                wait_for("the master to start",
                         lambda: "BuildMaster is running" in tail(logs["master"], 10**6),
                         procs, logs)

                workdir = work / "worker"
                run([buildbot_worker, "create-worker", "-q", str(workdir),
                     f"127.0.0.1:{pb_port}", "local", worker_pass], env, logs)
                logs["worker"] = workdir / "twistd.log"
                stack.enter_context(started(
                    procs, "worker", [buildbot_worker, "start", "--nodaemon", str(workdir)],
                    work / "worker.out", env=env))

                if has_www:
                    www = "http://127.0.0.1:" + www_port.split(":")[1] + "/"
                    force_build(www, procs, logs)
                    trigger = "forced through the master's REST API (buildbot-www)"
                else:
                    run([buildbot, "sendchange", "--master", f"127.0.0.1:{pb_port}",
                         "--auth", f"change:{change_pass}", "--who", "hipkit-check",
                         "--branch", "main", "--comments", "hipkit relay check", "README.md"],
                        env, logs)
                    trigger = "started by buildbot sendchange"

                def both():
                    reporter_failed(logs, answered)
                    got = [i["message"] for i in emulator.history(emu, token, ROOM)]
                    return got if len(got) >= 2 else None

                messages = wait_for(f"two messages in room {ROOM!r}", both, procs, logs)
            reporter_failed(logs, answered)
            url = re.escape(MASTER_URL) + r"#/?builders/\d+/builds/\d+"
            expected = [
                rf"Buildbot started build {BUILDER} here: ({url})",
                rf"Buildbot finished build {BUILDER} with result success here: ({url})",
            ]
            matches = [re.fullmatch(e, m) for e, m in zip(expected, messages)]
            if len(messages) != 2 or not all(matches) or matches[0][1] != matches[1][1]:
                fail(f"room {ROOM!r} holds {messages!r}; expected Buildbot's started and "
                     f"finished messages for one build, once each", logs)
            version = run([buildbot, "--version"], env, logs).split("\n")[0].strip()
            through = "bridge" if bridge else "relay"
            print(f"buildbot {through} check ({name}; {version}; build {trigger}): OK: {messages}")
        finally:
            for proc in procs.values():
                stop(proc)
            emulated.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
