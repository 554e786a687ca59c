{#- Install libvirt, QEMU and the tools a Brine host needs. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

kvm-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ kvm.all_packages | json }}
{%- if grains.os_family == "Debian" %}
    - install_recommends: {{ kvm.install_recommends | json }}
{%- endif %}

{#- saltext-virt in Salt's own Python, at the version requirements.txt pins (the landscape
    formula's pools use its virt.pool_running); null bin_env leaves it to the installer. #}
{%- if kvm.python_packages.bin_env %}

kvm-package-install-pip-installed:
  pip.installed:
    - pkgs: {{ kvm.python_packages.pkgs | json }}
    - bin_env: {{ kvm.python_packages.bin_env | json }}
{%- endif %}
