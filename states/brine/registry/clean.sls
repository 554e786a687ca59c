{#- Undo brine.registry: the service stopped, its configuration and package removed; the images
    stay in the storage folder. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}
{%- set registry = brine.registry %}

brine-registry-clean-service-dead:
  service.dead:
    - name: {{ registry.service }}
    - enable: false

brine-registry-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ registry.packages | json }}
    - require:
      - service: brine-registry-clean-service-dead
