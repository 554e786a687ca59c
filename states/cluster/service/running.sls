{#- corosync, then pacemaker, running and enabled; corosync restarts when its configuration or
    key changes. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_config_file = tplroot ~ ".config.file" %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}

include:
  - {{ sls_config_file }}

cluster-service-running-corosync-service-running:
  service.running:
    - name: {{ cluster.services.corosync }}
    - enable: true
    - watch:
      - file: cluster-config-file-corosync-conf-file-managed
      - file: cluster-config-file-authkey-file-decode
    - require:
      - sls: {{ sls_config_file }}

{%- if cluster.pacemaker.enabled %}
cluster-service-running-pacemaker-service-running:
  service.running:
    - name: {{ cluster.services.pacemaker }}
    - enable: true
    - require:
      - service: cluster-service-running-corosync-service-running
{%- endif %}
