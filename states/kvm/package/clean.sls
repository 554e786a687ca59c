{#- Remove the packages; the service and configuration are cleaned first. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_config_clean = tplroot ~ ".config.clean" %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

include:
  - {{ sls_config_clean }}

kvm-package-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ kvm.packages | json }}
    - require:
      - sls: {{ sls_config_clean }}
