{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_config_clean = tplroot ~ ".config.clean" %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}

include:
  - {{ sls_config_clean }}

brine-package-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ brine.packages | json }}
    - require:
      - sls: {{ sls_config_clean }}
