{#- virtlogd and libvirtd running and enabled; libvirtd restarts when its configuration changes. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_config_file = tplroot ~ ".config.file" %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

include:
  - {{ sls_config_file }}

kvm-service-running-virtlogd-service-running:
  service.running:
    - name: {{ kvm.service.virtlogd }}
    - enable: true
{%- if kvm.service.provider %}
    - provider: {{ kvm.service.provider }}
{%- endif %}
    - require:
      - sls: {{ sls_config_file }}

kvm-service-running-libvirtd-service-running:
  service.running:
    - name: {{ kvm.service.libvirtd }}
    - enable: true
{%- if kvm.service.provider %}
    - provider: {{ kvm.service.provider }}
{%- endif %}
    - require:
      - service: kvm-service-running-virtlogd-service-running
    - watch:
      - file: kvm-config-file-libvirtd-conf-file-managed
      - file: kvm-config-file-qemu-conf-file-managed
{%- if kvm.service.init_system != "systemd" and kvm.service.defaults_file %}
      - file: kvm-config-file-libvirtd-defaults-file-keyvalue
{%- endif %}

{%- if kvm.service.init_system == "systemd" and kvm.libvirtd.listen_tls and kvm.tls.enabled %}
{#- Under systemd libvirtd is socket-activated: the TLS listener is its own socket unit. #}
kvm-service-running-libvirtd-tls-socket-service-running:
  service.running:
    - name: {{ kvm.service.tls_socket }}
    - enable: true
    - require:
      - service: kvm-service-running-libvirtd-service-running
{%- endif %}
