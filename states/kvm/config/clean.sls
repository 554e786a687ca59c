{#- Put back the packaged configuration files (removing ours); the service stops first. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_service_clean = tplroot ~ ".service.clean" %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

include:
  - {{ sls_service_clean }}

kvm-config-clean-libvirtd-conf-file-absent:
  file.absent:
    - name: {{ kvm.libvirtd.config }}
    - require:
      - sls: {{ sls_service_clean }}

kvm-config-clean-qemu-conf-file-absent:
  file.absent:
    - name: {{ kvm.qemu.config }}
    - require:
      - sls: {{ sls_service_clean }}

kvm-config-clean-sysctl-file-absent:
  file.absent:
    - name: {{ kvm.sysctl.file }}

kvm-config-clean-minion-snippet-file-absent:
  file.absent:
    - name: {{ kvm.minion.config_dir }}/brine-kvm.conf
