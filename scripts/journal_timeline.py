"""A short timeline of a simulated cluster's event journal (used by scripts/demo.sh).

    cluster.py journal --name demo --raw | journal_timeline.py .run/clusters/demo/topology.yml

Prints the window, the backup, each node's upgrade, the DEA retirements and the restarts, then
whether an app with two or more instances ever had none running."""
import collections
import json
import sys

import yaml


def main(topology_path: str) -> int:
    evts = [json.loads(line) for line in sys.stdin if line.strip()]
    topo = yaml.safe_load(open(topology_path, encoding="utf-8"))
    names = {n["ip"]: n["name"] for n in topo["nodes"]}
    apps = {a["name"]: a["instances"] for a in topo.get("apps", [])}
    t0 = next((e["ts"] for e in evts if e["event"] != "upstream_request"), 0)

    def line(e, text):
        print(f"  {e['ts'] - t0:7.2f}s  {names.get(e['node'], e['node']):8} {text}")

    starts = {}
    running, down, outages = collections.Counter(apps), collections.Counter(), set()
    for e in evts:
        ev, node = e["event"], e["node"]
        if ev == "download_done" and e.get("source") == "upstream":
            line(e, f"downloaded {e['version']} from upstream into the cache")
        elif ev == "config_set" and str(e.get("key")).strip("/") == "maintenance_mode":
            line(e, "MAINTENANCE MODE " + ("ON" if str(e["value"]).lower() == "true" else "OFF"))
        elif ev == "data_export":
            line(e, f"backup: kato data export ({e.get('bytes', 0)} bytes)")
        elif ev == "upgrade_start":
            starts[node] = e["ts"]
        elif ev == "upgrade_done":
            line(e, f"upgraded to {e['version']} in {e['ts'] - starts.get(node, e['ts']):.2f}s")
        elif ev == "dea_retired":
            line(e, f"DEA {names.get(e['dea'], e['dea'])} retired ({e.get('moved', 0)} instances moved)")
        elif ev == "dea_retire_skipped":
            line(e, f"DEA {names.get(e['dea'], e['dea'])} not retired: {e.get('reason')}")
        elif ev == "kato_restart":
            line(e, "kato restart")
        elif ev == "upgrade_failed":
            line(e, f"FAILED at {e.get('step')}: {e.get('reason')}")
        # running instances per app: every instance runs at the start
        key = (e.get("app"), e.get("dea"))
        if ev == "instance_started":
            running[e["app"]] += 1
            down[key] = max(0, down[key] - 1)
        elif ev == "instance_down":
            running[e["app"]] -= 1
            down[key] += 1
        elif ev == "instance_stopped":
            if down[key]:
                down[key] -= 1
            else:
                running[e["app"]] -= 1
        if ev.startswith("instance_") and apps.get(e["app"], 0) >= 2 and running[e["app"]] < 1:
            outages.add(e["app"])
    multi = sorted(a for a, n in apps.items() if n >= 2)
    print(f"  apps with 2+ instances ({', '.join(multi)}): "
          + (f"DOWN at some point: {', '.join(sorted(outages))}" if outages else "never down"))
    return 1 if outages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
