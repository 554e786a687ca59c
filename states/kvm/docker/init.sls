{#- Docker on this host (docs/containers.md): Debian's docker.io, daemon.json from the map, the
    registry's CA where the site's registry has one, and the engine running; it restarts when
    daemon.json changes (containers without a restart policy stay stopped then). Under systemd the
    engine's socket is docker.socket's: a drop-in gives it kvm:docker:socket. The minion snippet
    (kvm.minion) points Salt at the socket (docker.url) and enables the brine_containers engine. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}
{%- set docker = kvm.docker %}

{%- if docker.enabled %}
kvm-docker-package-pkg-installed:
  pkg.installed:
    - pkgs: {{ docker.packages | json }}
{%- if grains.os_family == "Debian" %}
    - install_recommends: {{ kvm.install_recommends | json }}
{%- endif %}

kvm-docker-config-file-managed:
  file.managed:
    - name: {{ docker.config }}
    - source: salt://{{ tplroot }}/files/default/daemon.json.jinja
    - template: jinja
    - mode: "0644"
    - user: root
    - group: root
    - makedirs: true
    - context:
        docker: {{ docker | json }}
    - require:
      - pkg: kvm-docker-package-pkg-installed

{%- if docker.registry.ca_cert_pem %}
{#- Docker reads certs.d at every pull: no restart. #}
kvm-docker-registry-ca-file-managed:
  file.managed:
    - name: /etc/docker/certs.d/{{ docker.registry.name }}/ca.crt
    - contents: {{ docker.registry.ca_cert_pem | json }}
    - mode: "0644"
    - makedirs: true
    - require:
      - pkg: kvm-docker-package-pkg-installed
{%- endif %}

{%- if kvm.service.init_system == "systemd" %}
kvm-docker-socket-dropin-file-managed:
  file.managed:
    - name: /etc/systemd/system/{{ docker.socket_unit }}.d/brine.conf
    - mode: "0644"
    - makedirs: true
    - contents: |
        # Managed by Salt (Brine kvm formula): the engine's API socket (kvm:docker:socket).
        [Socket]
        ListenStream=
        ListenStream={{ docker.socket }}

kvm-docker-systemd-reload-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: kvm-docker-socket-dropin-file-managed

kvm-docker-socket-service-running:
  service.running:
    - name: {{ docker.socket_unit }}
    - enable: true
    - require:
      - module: kvm-docker-systemd-reload-module-run
    - watch:
      - file: kvm-docker-socket-dropin-file-managed
{%- endif %}

kvm-docker-service-running:
  service.running:
    - name: {{ docker.service }}
    - enable: true
{%- if kvm.service.provider %}
    - provider: {{ kvm.service.provider }}
{%- endif %}
    - watch:
      - file: kvm-docker-config-file-managed
{%- if kvm.service.init_system == "systemd" %}
      - service: kvm-docker-socket-service-running
{%- endif %}
{%- endif %}
