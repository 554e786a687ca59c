{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}

brine-service-clean-websockify-service-dead:
  service.dead:
    - name: {{ brine.services.websockify }}
    - enable: false
