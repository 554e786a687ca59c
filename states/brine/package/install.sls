{#- nginx and websockify for Brine's site (Salt itself, salt-api included, is the installer's). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}

brine-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ brine.packages | json }}
