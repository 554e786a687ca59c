{#- Remove the cluster packages, after the services and configuration. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_config_clean = tplroot ~ ".config.clean" %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}

include:
  - {{ sls_config_clean }}

cluster-package-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ cluster.all_packages | json }}
    - require:
      - sls: {{ sls_config_clean }}
