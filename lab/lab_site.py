"""The lab's site, as the brine formula builds a master: the formula rendered by Salt with the
lab's pillar (lab/brine-pillar.yaml) and its configuration written as its states would, then the
daemons behind the site started as its services start them: salt-api, websockify, nginx."""

import json
import os
import subprocess
from pathlib import Path

import jinja2
import yaml
from lab_base import REPO
from lab_base import URL
from lab_base import VENV_BIN
from lab_base import LabBase
from lab_base import LabError
from lab_base import log
from lab_base import run

# -- the master's configuration from the brine formula (README: Hosts as code) ---------------
BRINE_LAB_PILLAR = Path(__file__).resolve().parent / "brine-pillar.yaml"
BRINE_WEBSOCKIFY_STATE = "brine-config-file-websockify-unit-file-managed"
# The registry's config.yml: the lab starts docker-registry with it (lab_docker.start_registry).
BRINE_REGISTRY_STATE = "brine-registry-config-file-managed"
# What of the brine formula the lab does not apply itself: packages are setup.sh's, and the lab
# starts its daemons itself (no init system here), websockify with the service's command line.
# (pip.installed: Salt's environment is the lab's venv, which has requirements.txt.)
BRINE_NOT_APPLIED = {"pkg.installed", "pip.installed", "service.running", "cmd.run", "module.run"}
# The formula's files that only work in their machine-wide place, outside the lab's folder: the
# PAM service of logins (PAM reads services from /etc/pam.d alone). The lab writes them there,
# records them in its state and removes them at down.
SYSTEM_FOLDERS = ("/etc/pam.d/",)


def _fill(value, names):
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, names) for item in value]
    if isinstance(value, str):
        for name, replacement in names.items():
            value = value.replace("{" + name + "}", str(replacement))
    return value


def brine_pillar(root):
    """lab/brine-pillar.yaml with the lab's folder, this checkout and the venv's bin folder."""
    return _fill(yaml.safe_load(BRINE_LAB_PILLAR.read_text()), {"lab": root, "repo": REPO, "venv": VENV_BIN})


def show_sls_states(result):
    """state id -> {"fun": "module.function", "args": {...}} of a ``state.show_sls`` answer."""
    states = {}
    for state_id, body in result.items():
        for module, items in body.items():
            if module.startswith("__"):
                continue
            args, fun = {}, None
            for item in items:
                if isinstance(item, dict):
                    args.update(item)
                elif isinstance(item, str) and fun is None:
                    fun = f"{module}.{item}"
            states[state_id] = {"fun": fun, "args": args}
    return states


def render_brine_formula(work, pillar):
    """The brine formula's states as Salt renders them with ``pillar``: ``salt-call --local
    state.show_sls brine`` with file_roots at states/ (the formula's map, defaults and checks)."""
    work = Path(work)
    (work / "pillar").mkdir(parents=True, exist_ok=True)
    (work / "pillar" / "top.sls").write_text("base:\n  '*':\n    - brine\n")
    (work / "pillar" / "brine.sls").write_text(json.dumps(pillar))
    (work / "minion").write_text(
        json.dumps(
            {
                "id": "brine-lab-master",
                "file_client": "local",
                "root_dir": str(work),
                "file_roots": {"base": [str(REPO / "states")]},
                "pillar_roots": {"base": [str(work / "pillar")]},
                "log_level_logfile": "quiet",
            }
        )
    )
    done = run(
        [VENV_BIN / "salt-call", "--local", "-c", work, "--out=json", "state.show_sls", "brine"],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        result = json.loads(done.stdout)["local"]
    except (ValueError, KeyError) as err:
        detail = done.stderr.strip() or done.stdout.strip()
        raise LabError(f"rendering the brine formula failed: {detail}") from err
    if isinstance(result, list):
        detail = "; ".join(map(str, result))
        raise LabError(f"the brine formula does not render with the lab's pillar: {detail}")
    return show_sls_states(result)


def _formula_source(source):
    if source.startswith("salt://"):
        return REPO / "states" / source[len("salt://") :]
    return Path(source)


def master_plan(states):
    """What the brine formula's configuration states write, for the lab to write the same:
    {"files": {path: (text, mode)}, "directories": [..], "symlinks": {path: target},
    "websockify": the service's settings (program, args, pythonpath, token_dir, listen),
    "nginx_site": the site's values, "nginx_main": the main configuration's settings, and
    "registry": the registry's settings when the formula runs one}.
    Files in SYSTEM_FOLDERS go to "system_files" {path: (text, mode)} instead of "files".
    A state the lab does not know stops it: the lab must not quietly drift from the formula."""
    plan = {"files": {}, "system_files": {}, "directories": [], "symlinks": {}}
    for state_id, state in sorted(states.items()):
        fun, args = state["fun"], state["args"]
        if state_id == BRINE_WEBSOCKIFY_STATE:
            plan["websockify"] = args["context"]["websockify"]
        elif fun in BRINE_NOT_APPLIED:
            continue
        elif fun == "file.managed":
            if "contents" in args:
                text = args["contents"] if args["contents"].endswith("\n") else args["contents"] + "\n"
            elif args.get("template") == "jinja":
                source = _formula_source(args["source"])
                env = jinja2.Environment(
                    loader=jinja2.FileSystemLoader(str(source.parent)),
                    undefined=jinja2.StrictUndefined,
                    keep_trailing_newline=True,
                )
                text = env.get_template(source.name).render(**args.get("context", {}))
            elif not args.get("template"):
                text = _formula_source(args["source"]).read_text()
            else:
                raise LabError(f"the lab cannot write {state_id} (template {args['template']})")
            kind = "system_files" if args["name"].startswith(SYSTEM_FOLDERS) else "files"
            plan[kind][args["name"]] = (text, int(str(args.get("mode", "0644")), 8))
            if state_id == "brine-config-file-nginx-site-file-managed":
                plan["nginx_site"] = args["context"]
            elif state_id == "brine-config-file-nginx-main-file-managed":
                plan["nginx_main"] = args["context"]["main"]
            elif state_id == BRINE_REGISTRY_STATE:
                plan["registry"] = args["context"]["registry"]
        elif fun == "file.directory":
            plan["directories"].append(args["name"])
        elif fun == "file.symlink":
            plan["symlinks"][args["name"]] = args["target"]
        else:
            raise LabError(f"the brine formula has a state the lab does not apply: {state_id} ({fun})")
    missing = {"websockify", "nginx_site", "nginx_main"} - set(plan)
    if missing:
        raise LabError(f"the brine formula rendered for the lab lacks {', '.join(sorted(missing))}")
    return plan


def write_master_plan(plan):
    """Write the formula's files, folders and symlinks, as applying its config states would."""
    for name, (text, mode) in {**plan["files"], **plan["system_files"]}.items():
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, mode)
    for path in plan["directories"]:
        Path(path).mkdir(parents=True, exist_ok=True)
    for path, target in plan["symlinks"].items():
        link = Path(path)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)


def remove_system_files(state):
    """Remove the formula's machine-wide files the lab wrote (recorded in its state)."""
    for name in state.get("system_files", []):
        Path(name).unlink(missing_ok=True)


class SiteMixin(LabBase):
    """The master's configuration from the brine formula, and the daemons behind the site."""

    def master_plan(self):
        """The master's configuration: the brine formula rendered by Salt with the lab's pillar."""
        if self._master_plan is None:
            states = render_brine_formula(self.root / "formula", brine_pillar(self.root))
            self._master_plan = master_plan(states)
        return self._master_plan

    def start_api(self):
        log("starting salt-api")
        run([VENV_BIN / "salt-api", "-c", self.master_conf_dir, "-d"])
        # Where the formula's nginx site sends /api/ (the formula's brine-api.conf listens there).
        host, port = self.master_plan()["nginx_site"]["api_upstream"].rsplit(":", 1)
        self.wait(
            lambda: (
                run(["curl", "-s", "-o", "/dev/null", f"http://{host}:{port}/"], check=False).returncode == 0
            ),
            30,
            "salt-api did not start",
        )

    # -- consoles -----------------------------------------------------------------------------
    def start_console_proxy(self):
        """The site's one websockify, with Brine's token plugin (README: Consoles), started as
        the brine formula's service starts it: its program, arguments and PYTHONPATH."""
        log("starting websockify for consoles")
        websockify = self.master_plan()["websockify"]
        # What the service does before it starts (the init script's mkdir and chmod).
        tokens = Path(websockify["token_dir"])
        tokens.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(tokens, 0o700)
        env = dict(os.environ, PYTHONPATH=websockify["pythonpath"])
        log_file = self.root / "websockify.log"
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [websockify["program"], *websockify["args"]],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
            )
        (self.root / "websockify.pid").write_text(f"{proc.pid}\n")
        host, port = websockify["listen"].rsplit(":", 1)
        self.wait(
            lambda: (
                run(["curl", "-s", "-o", "/dev/null", f"http://{host}:{port}/"], check=False).returncode == 0
            ),
            30,
            f"websockify did not start (see {log_file})",
        )

    def start_nginx(self):
        """nginx with the formula's site and main configuration (written by write_master_plan)."""
        log("starting nginx")
        plan = self.master_plan()
        # The lab's certificate is self-signed, where the lab's pillar says the site's is.
        cert, key = Path(plan["nginx_site"]["tls_cert"]), Path(plan["nginx_site"]["tls_key"])
        if not cert.exists():
            cert.parent.mkdir(parents=True, exist_ok=True)
            run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "365",
                    "-subj",
                    "/CN=brine-lab",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout",
                    key,
                    "-out",
                    cert,
                ],
                capture_output=True,
            )
            os.chmod(key, 0o600)
        # nginx's logs are root's alone: made 0600 before nginx opens (and keeps) them.
        os.chmod(plan["nginx_main"]["dir"], 0o700)
        for name in (plan["nginx_site"]["access_log"], Path(plan["nginx_main"]["dir"]) / "error.log"):
            Path(name).touch(mode=0o600)
            os.chmod(name, 0o600)
        config = plan["nginx_main"]["config"]
        run(["nginx", "-t", "-q", "-c", config], capture_output=True)
        run(["nginx", "-c", config])

    def wait_for_url(self):
        self.wait(
            lambda: run(["curl", "-sk", "-o", "/dev/null", "-f", URL], check=False).returncode == 0,
            30,
            f"{URL} did not answer",
        )
