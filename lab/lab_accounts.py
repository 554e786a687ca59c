"""The lab's people: a real PAM user per role (admin, operator, viewer) in the role's group,
with a password generated each up and kept in the lab's credentials file (mode 0600)."""

import grp
import json
import os
import pwd
import secrets

from lab_base import GUESTS
from lab_base import ROLES
from lab_base import TREE_URL
from lab_base import URL
from lab_base import VENV_BIN
from lab_base import LabBase
from lab_base import run


class AccountsMixin(LabBase):
    """The roles' users and groups, and the logins printed after up."""

    def make_accounts(self, state):
        """A real PAM user per role, in the role's group; passwords are generated each up."""
        credentials = {}
        for role in ROLES:
            group, user = f"brine-{role}", f"lab-{role}"
            try:
                grp.getgrnam(group)
            except KeyError:
                run(["groupadd", "--system", group])
                state["created_groups"].append(group)
            try:
                pwd.getpwnam(user)
            except KeyError:
                run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
                state["created_users"].append(user)
            run(["usermod", "--append", "--groups", group, user])
            password = secrets.token_urlsafe(12)
            run(["chpasswd"], input=f"{user}:{password}\n", text=True)
            credentials[role] = {"username": user, "password": password}
            self.save_state(state)
        old_umask = os.umask(0o077)
        try:
            self.credentials.write_text(json.dumps(credentials, indent=2) + "\n")
        finally:
            os.umask(old_umask)
        os.chmod(self.credentials, 0o600)

    def print_login(self, state):
        creds = json.loads(self.credentials.read_text())
        print(
            f"\nBrine lab is up: {len(state['hosts'])} hosts ({', '.join(state['hosts'])}), "
            f"guests {', '.join(GUESTS)} (domain type {state.get('domain_type')})"
        )
        print(f"  URL:    {URL}   (self-signed certificate)")
        for role in ROLES:
            print(f"  {role:<8} login: {creds[role]['username']:<13} password: {creds[role]['password']}")
        print(f"  Install tree: {TREE_URL}   (virt-install --location; lab/install_tree.py)")
        print(f"  Credentials are kept in {self.credentials} (mode 0600).")
        print(f"  Shell:  {VENV_BIN}/salt -c {self.master_conf_dir} '*' hypervisor.inventory")
        print(f"          {VENV_BIN}/salt-run -c {self.master_conf_dir} cluster.inventory")
        print(
            f"  Landscape (lab/landscape.yaml, in the pillar, not applied): "
            f"{VENV_BIN}/salt -c {self.master_conf_dir} '*' state.apply [test=True]\n"
        )

    @staticmethod
    def remove_accounts(state):
        """Remove the users and groups the lab created (a group others also use stays)."""
        for user in state.get("created_users", []):
            run(["userdel", user], check=False, capture_output=True)
        for group in state.get("created_groups", []):
            # Others (the integration tests, a real admin) may use the same group: keep it then.
            try:
                if grp.getgrnam(group).gr_mem:
                    continue
            except KeyError:
                continue
            run(["groupdel", group], check=False, capture_output=True)
