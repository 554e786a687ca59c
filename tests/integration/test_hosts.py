"""
Which hosts the cluster runner asks, and what it does when hosts are missing,
silent, or hold the same VM name. The tests that start the second host come
last: once it has been seen, the master expects it until its key is deleted
when this module ends.
"""

import time

import salt.cache
import salt.config


def master_cache(salt_master):
    return salt.cache.factory(salt.config.master_config(salt_master.config["conf_file"]))


def test_only_hypervisor_hosts_are_asked(api, hv1, office):
    hosts = [host["name"] for host in api.result("viewer", "cluster.inventory")["hosts"]]
    # office runs the hypervisor module too and would answer if it were asked
    assert hosts == [hv1.id]


def test_salt_run_gives_the_same_inventory(salt_master, hv1, office):
    ret = salt_master.salt_run_cli(timeout=120).run("cluster.inventory")
    assert ret.returncode == 0, ret
    assert [host["name"] for host in ret.data["hosts"]] == [hv1.id]
    assert "test" in [vm["name"] for vm in ret.data["hosts"][0]["vms"]]


def test_a_stale_cache_entry_is_corrected(api, salt_master, hv1):
    cache = master_cache(salt_master)
    cache.store("brine/inventory", "gone-host", {"vms": ["test"]})
    cache.store("brine/inventory", hv1.id, {"vms": []})

    vm = api.result("viewer", "cluster.vm_info", name="test")

    assert vm["host"] == hv1.id
    assert cache.fetch("brine/inventory", hv1.id)["vms"] == ["test"]
    assert cache.fetch("brine/inventory", "gone-host")["vms"] == []


def test_inventory_forgets_hosts_that_are_gone(api, salt_master, hv1):
    cache = master_cache(salt_master)
    cache.store("brine/inventory", "gone-host", {"vms": ["old"]})
    api.result("viewer", "cluster.inventory")
    assert "gone-host" not in cache.list("brine/inventory")
    assert "test" in cache.fetch("brine/inventory", hv1.id)["vms"]


def test_a_name_on_two_hosts_is_refused_naming_both(api, salt_cli, vm_state, hv1, hv2_factory):
    with hv2_factory.started():
        for fun in ("saltutil.sync_utils", "saltutil.sync_modules"):
            ret = salt_cli.run(fun, minion_tgt=hv2_factory.id)
            assert ret.returncode == 0, ret
        # Both hosts run the test driver, so both have a VM named "test". The
        # runner's map learns that at the next inventory, as the UI runs it.
        inventory = api.result("viewer", "cluster.inventory")
        assert [
            (host["name"], "test" in [vm["name"] for vm in host["vms"]]) for host in inventory["hosts"]
        ] == sorted([(hv1.id, True), (hv2_factory.id, True)])
        for role, fun in (("viewer", "cluster.vm_info"), ("operator", "cluster.shutdown")):
            sentence = api.error(role, fun, name="test")
            hosts = ", ".join(sorted([hv1.id, hv2_factory.id]))
            assert sentence == (
                "[ambiguous_vm] test is defined on more than one host "
                f"({hosts}); Brine will not guess which one you mean"
            )
    assert vm_state() == "running"


def test_a_silent_host_is_unreachable_while_the_others_answer(api, hv1, hv2_factory):
    with hv2_factory.started():
        pass  # the master has its key and its pillar: it expects an answer

    inventory = api.result("viewer", "cluster.inventory")
    hosts = {host["name"]: host for host in inventory["hosts"]}
    assert hosts[hv2_factory.id] == {
        "name": hv2_factory.id,
        "reachable": False,
        "error": "did not answer within 5 s",  # brine:inventory:timeout
        "facts": None,
        "vms": [],
        "docker": None,
        "containers": [],
    }
    assert hosts[hv1.id]["reachable"] is True
    assert "test" in [vm["name"] for vm in hosts[hv1.id]["vms"]]
    assert inventory["totals"]["hosts"] == 2
    assert inventory["totals"]["hosts_reachable"] == 1

    started = time.monotonic()
    inventory = api.result("viewer", "cluster.inventory", timeout=2)
    elapsed = time.monotonic() - started
    hosts = {host["name"]: host for host in inventory["hosts"]}
    assert hosts[hv2_factory.id]["error"] == "did not answer within 2 s"
    assert hosts[hv1.id]["reachable"] is True
    # the runner's deadline, not Salt's timeout plus gather_job_timeout
    assert elapsed < 5, elapsed
