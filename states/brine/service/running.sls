{#- nginx, salt-api and websockify running; each restarts when its configuration changes. The
    master restarts in the background when its snippets change (it is this run's own master). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_config_file = tplroot ~ ".config.file" %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}

include:
  - {{ sls_config_file }}

brine-service-running-nginx-service-running:
  service.running:
    - name: {{ brine.services.nginx }}
    - enable: true
    - reload: true
    - watch:
      - file: brine-config-file-nginx-site-file-managed
{%- if brine.nginx.main %}
      - file: brine-config-file-nginx-main-file-managed
{%- endif %}

brine-service-running-websockify-service-running:
  service.running:
    - name: {{ brine.services.websockify }}
    - enable: true
    - watch:
      - file: brine-config-file-websockify-unit-file-managed

{%- if brine.services.salt_api %}
brine-service-running-salt-api-service-running:
  service.running:
    - name: {{ brine.services.salt_api }}
    - enable: true
    - watch:
      - file: brine-config-file-brine-api.conf-file-managed
      - file: brine-config-file-brine-eauth.conf-file-managed
{%- endif %}

{%- if brine.restart_master %}
brine-service-running-salt-master-cmd-run:
  cmd.run:
    - name: salt-call --local service.restart {{ brine.services.salt_master | quote }}
    - bg: true
    - onchanges:
      - file: brine-config-file-brine-master.conf-file-managed
      - file: brine-config-file-brine-paths-conf-file-managed
      - file: brine-config-file-brine-eauth.conf-file-managed
{%- endif %}
