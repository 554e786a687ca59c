{#- Guest bridges (optionally on a VLAN) as ifupdown snippets; each is brought up when its snippet
    changes (kvm:network:bring_up). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

{%- if kvm.network.bridges %}
kvm-network-packages-pkg-installed:
  pkg.installed:
    - pkgs:
      - ifupdown
      - bridge-utils
{%- set vlans = [] %}
{%- for spec in kvm.network.bridges.values() if spec.get("vlan") %}{% do vlans.append(spec.vlan) %}{% endfor %}
{%- if vlans %}
      - vlan
{%- endif %}

{%- for bridge, spec in kvm.network.bridges | dictsort %}
kvm-network-{{ bridge }}-file-managed:
  file.managed:
    - name: {{ kvm.network.interfaces_dir }}/brine-{{ bridge }}
    - source: salt://{{ tplroot }}/files/default/bridge.jinja
    - template: jinja
    - makedirs: true
    - context:
        bridge: {{ bridge }}
        spec: {{ spec | json }}
    - require:
      - pkg: kvm-network-packages-pkg-installed
{%- if kvm.network.bring_up %}

kvm-network-{{ bridge }}-cmd-run:
  cmd.run:
    - name: ifup {{ bridge | quote }}
    - onchanges:
      - file: kvm-network-{{ bridge }}-file-managed
{%- endif %}
{%- endfor %}
{%- endif %}
