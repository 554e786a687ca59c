{#- corosync, pacemaker, fence agents, and LVM's lock daemon with the chosen lock manager. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}

cluster-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ cluster.all_packages | json }}
{%- if cluster.pkg_refresh is not none %}
    - refresh: {{ cluster.pkg_refresh | json }}
{%- endif %}
