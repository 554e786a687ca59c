{#- Remove what config/file.sls wrote (the checkout itself stays). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_service_clean = tplroot ~ ".service.clean" %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}
{%- set master_d = brine.salt_config_dir ~ "/master.d" %}

include:
  - {{ sls_service_clean }}

brine-config-clean-file-absent:
  file.absent:
    - names:
      - {{ master_d }}/brine-api.conf
      - {{ master_d }}/brine-eauth.conf
      - {{ master_d }}/brine-master.conf
      - {{ master_d }}/brine-paths.conf
      - {{ brine.fileroot }}
      - {{ brine.nginx.site }}
      - /etc/pam.d/brine
{%- if brine.nginx.main %}
      - {{ brine.nginx.main.config }}
{%- endif %}
      - /etc/systemd/system/{{ brine.services.websockify }}.service
      - /etc/init.d/{{ brine.services.websockify }}
    - require:
      - sls: {{ sls_service_clean }}
