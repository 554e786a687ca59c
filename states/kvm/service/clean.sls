{#- Stop and disable libvirtd and virtlogd (running guests keep running; QEMU is their parent). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

kvm-service-clean-libvirtd-service-dead:
  service.dead:
    - name: {{ kvm.service.libvirtd }}
    - enable: false

kvm-service-clean-virtlogd-service-dead:
  service.dead:
    - name: {{ kvm.service.virtlogd }}
    - enable: false
    - require:
      - service: kvm-service-clean-libvirtd-service-dead
