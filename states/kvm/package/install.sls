{#- Install libvirt, QEMU and the tools a Brine host needs. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

kvm-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ kvm.all_packages | json }}
{%- if grains.os_family == "Debian" %}
    - install_recommends: {{ kvm.install_recommends | json }}
{%- endif %}
