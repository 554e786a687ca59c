{#- nginx and websockify for Brine's site (Salt itself, salt-api included, is the installer's). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}

brine-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ brine.packages | json }}

{#- pykickstart for the provision runner, in Salt's own Python (Debian ships no package of it):
    the version requirements.txt pins. bin_env: the pip of Salt's environment (salt-pip on an
    onedir install); null leaves it to the installer. #}
{%- if brine.python_packages.bin_env %}
brine-package-install-pip-installed:
  pip.installed:
    - pkgs: {{ brine.python_packages.pkgs | json }}
    - bin_env: {{ brine.python_packages.bin_env | json }}
{%- endif %}
