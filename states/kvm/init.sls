{#- A Brine KVM host: packages, libvirt/QEMU configuration, services, kernel settings, storage
    and network from pillar, TLS for migrations, Docker where the site wants containers, Brine's
    extensions and events engine. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

include:
  - .package
  - .config
  - .service
  - .sysctl
  - .hugepages
  - .mounts
  - .network
  - .kernel
{%- if kvm.tls.enabled %}
  - .tls
{%- endif %}
{%- if kvm.docker.enabled %}
  - .docker
{%- endif %}
  - .minion
