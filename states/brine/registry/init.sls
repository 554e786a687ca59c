{#- The site's container registry on the master (brine:master:registry, docs/containers.md):
    Debian's docker-registry, its storage folder, its config.yml from the map, and the service,
    restarted when the configuration changes. The master learns where it is through
    brine:containers:registry and registry_url in master.d/brine-paths.conf (config/file.sls). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}
{%- set registry = brine.registry %}

{%- if registry.enabled %}
brine-registry-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ registry.packages | json }}

brine-registry-storage-file-directory:
  file.directory:
    - name: {{ registry.storage }}
    - user: {{ registry.user }}
    - mode: "0750"
    - makedirs: true
    - require:
      - pkg: brine-registry-package-pkg-installed

brine-registry-config-file-managed:
  file.managed:
    - name: {{ registry.config }}
    - source: salt://{{ tplroot }}/files/default/registry.yml.jinja
    - template: jinja
    - mode: "0644"
    - makedirs: true
    - context:
        registry: {{ registry | json }}
    - require:
      - pkg: brine-registry-package-pkg-installed

brine-registry-service-running:
  service.running:
    - name: {{ registry.service }}
    - enable: true
    - require:
      - file: brine-registry-storage-file-directory
    - watch:
      - file: brine-registry-config-file-managed
{%- endif %}
