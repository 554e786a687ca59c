{#- Remove corosync's configuration and key, once the services are stopped. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_service_clean = tplroot ~ ".service.clean" %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}

include:
  - {{ sls_service_clean }}

cluster-config-clean-file-absent:
  file.absent:
    - names:
      - {{ cluster.corosync.config }}
      - {{ cluster.corosync.authkey_file }}
      - {{ cluster.lvm.lvmlocal_conf }}
      - {{ cluster.fencing.config_dir }}
    - require:
      - sls: {{ sls_service_clean }}
