{#- corosync.conf (knet with encryption, node ids from pillar) and the shared authkey, written
    mode 0400 before a byte of it lands on disk. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_package_install = tplroot ~ ".package.install" %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}

include:
  - {{ sls_package_install }}

cluster-config-file-corosync-conf-file-managed:
  file.managed:
    - name: {{ cluster.corosync.config }}
    - source: salt://{{ tplroot }}/files/default/corosync.conf.jinja
    - template: jinja
    - mode: "0644"
    - makedirs: true
    - context:
        name: {{ cluster.name | json }}
        corosync: {{ cluster.corosync | json }}
        nodes: {{ cluster.nodes | json }}
        two_node: {{ cluster.two_node | json }}
    - require:
      - sls: {{ sls_package_install }}

cluster-config-file-authkey-file-managed:
  file.managed:
    - name: {{ cluster.corosync.authkey_file }}
    - mode: "0400"
    - user: root
    - group: root
    - replace: false
    - makedirs: true
    - require:
      - sls: {{ sls_package_install }}

cluster-config-file-authkey-file-decode:
  file.decode:
    - name: {{ cluster.corosync.authkey_file }}
    - encoding_type: base64
    - encoded_data: {{ cluster.corosync.authkey | replace("\n", "") | json }}
    - require:
      - file: cluster-config-file-authkey-file-managed
