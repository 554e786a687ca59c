{#- Undo kvm.docker: the engine stopped (its containers stop with it), the formula's files removed,
    the packages removed. Images and containers' data stay in kvm:docker:data_root. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}
{%- set docker = kvm.docker %}

kvm-docker-clean-service-dead:
  service.dead:
    - name: {{ docker.service }}
    - enable: false

kvm-docker-clean-file-absent:
  file.absent:
    - names:
      - {{ docker.config }}
      - /etc/systemd/system/{{ docker.socket_unit }}.d/brine.conf
{%- if docker.registry.name %}
      - /etc/docker/certs.d/{{ docker.registry.name }}
{%- endif %}
    - require:
      - service: kvm-docker-clean-service-dead

kvm-docker-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ docker.packages | json }}
    - require:
      - service: kvm-docker-clean-service-dead
