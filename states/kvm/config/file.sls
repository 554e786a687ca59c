{#- libvirtd.conf and qemu.conf, rendered from the map; the service watches both. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_package_install = tplroot ~ ".package.install" %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

include:
  - {{ sls_package_install }}

kvm-config-file-libvirtd-conf-file-managed:
  file.managed:
    - name: {{ kvm.libvirtd.config }}
    - source: salt://{{ tplroot }}/files/default/libvirtd.conf.jinja
    - template: jinja
    - mode: "0644"
    - user: root
    - group: root
    - context:
        libvirtd: {{ kvm.libvirtd | json }}
        tls: {{ kvm.tls | json }}
    - require:
      - sls: {{ sls_package_install }}

kvm-config-file-qemu-conf-file-managed:
  file.managed:
    - name: {{ kvm.qemu.config }}
    - source: salt://{{ tplroot }}/files/default/qemu.conf.jinja
    - template: jinja
    - mode: "0600"
    - user: root
    - group: root
    # It holds the VNC password: a change must not print it in the state return or the log.
    - show_changes: false
    - context:
        qemu: {{ kvm.qemu | json }}
        migration:
          address: {{ kvm.libvirtd.listen_addr | json }}
          tls_dir: {{ (kvm.tls.qemu_dir if kvm.tls.enabled and kvm.tls.migration else none) | json }}
    - require:
      - sls: {{ sls_package_install }}

{%- if not kvm.default_network_autostart %}
kvm-config-file-default-network-autostart-file-absent:
  file.absent:
    - name: /etc/libvirt/qemu/networks/autostart/default.xml
    - require:
      - sls: {{ sls_package_install }}
{%- endif %}

{%- if kvm.service.init_system != "systemd" and kvm.service.defaults_file %}
{#- Without systemd's socket units libvirtd opens its TCP/TLS listeners only with --listen. #}
kvm-config-file-libvirtd-defaults-file-keyvalue:
  file.keyvalue:
    - name: {{ kvm.service.defaults_file }}
    - separator: "="
    - append_if_not_found: true
    - key_values:
        LIBVIRTD_ARGS: '"{{ "--listen" if (kvm.libvirtd.listen_tls and kvm.tls.enabled) or kvm.libvirtd.listen_tcp else "" }}"'
    - require:
      - sls: {{ sls_package_install }}
{%- endif %}
