{#- Remove this host's TLS keys and certificates: libvirt's, and QEMU's TLS folder. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

kvm-tls-clean-file-absent:
  file.absent:
    - names:
      - {{ kvm.tls.server_cert }}
      - {{ kvm.tls.server_key }}
      - {{ kvm.tls.client_cert }}
      - {{ kvm.tls.client_key }}
      - {{ kvm.tls.ca_cert }}
      - {{ kvm.tls.qemu_dir }}
