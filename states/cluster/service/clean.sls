{#- Stop pacemaker, then corosync (and LVM's lock daemons). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}

cluster-service-clean-pacemaker-service-dead:
  service.dead:
    - name: {{ cluster.services.pacemaker }}
    - enable: false

{%- if cluster.lvm.enabled %}
cluster-service-clean-lvmlockd-service-dead:
  service.dead:
    - name: {{ cluster.services.lvmlockd }}
    - enable: false
    - require:
      - service: cluster-service-clean-pacemaker-service-dead
{%- endif %}

cluster-service-clean-corosync-service-dead:
  service.dead:
    - name: {{ cluster.services.corosync }}
    - enable: false
    - require:
      - service: cluster-service-clean-pacemaker-service-dead
