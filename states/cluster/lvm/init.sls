{#- Shared LVM with lvmlockd: use_lvmlockd and this node's host_id (its stable node id) in
    lvmlocal.conf, the lock manager (sanlock with its watchdog daemon, or dlm over corosync),
    then lvmlockd. Volume groups themselves are the site's to create (vgcreate --shared). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_service_running = tplroot ~ ".service.running" %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}
{%- set lvm = cluster.lvm %}

{%- if lvm.enabled %}
{%- if not cluster.this_node %}
{{- raise("cluster:nodes has no entry for this minion (" ~ grains.id ~ "): lvmlockd needs its host_id") }}
{%- endif %}
include:
  - {{ sls_service_running }}

cluster-lvm-lvmlocal-conf-file-managed:
  file.managed:
    - name: {{ lvm.lvmlocal_conf }}
    - mode: "0644"
    - contents: |
        # Managed by Salt (Brine cluster formula): shared LVM through lvmlockd ({{ lvm.lock_type }}).
        global {
            use_lvmlockd = 1
            lvmlockd_lock_retries = 3
        }
        local {
            host_id = {{ cluster.this_node.id }}
        }
    - require:
      - sls: {{ sls_service_running }}

{%- set daemons = ["wdmd", "sanlock"] if lvm.lock_type == "sanlock" else ["dlm"] %}
{%- for daemon in daemons %}
cluster-lvm-{{ daemon }}-service-running:
  service.running:
    - name: {{ cluster.services[daemon] }}
    - enable: true
    - require:
      - file: cluster-lvm-lvmlocal-conf-file-managed
{%- endfor %}

cluster-lvm-lvmlockd-service-running:
  service.running:
    - name: {{ cluster.services.lvmlockd }}
    - enable: true
    - require:
{%- for daemon in daemons %}
      - service: cluster-lvm-{{ daemon }}-service-running
{%- endfor %}
    - watch:
      - file: cluster-lvm-lvmlocal-conf-file-managed
{%- endif %}
