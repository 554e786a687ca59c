{#- Containers on this hypervisor host, as its pillar `containers` describes them
    (docs/containers.md): one Brine `containers.described` state per entry, which checks the entry
    (image, ports, environment, restart, state: running | stopped | absent) and keeps the container
    so. A mistake in one entry fails that entry's state with the reason, not the render. A container
    no entry names is never touched. _states/containers.py says why not saltext-dockermod's states. #}
{%- set described = salt["pillar.get"]("containers", {}) or {} %}
{%- if described is not mapping %}
{{- raise("[invalid_argument] pillar containers must be a mapping of container names to descriptions") }}
{%- endif %}
{%- for name, description in described | dictsort %}
{{ ("containers-" ~ name ~ "-containers-described") | json }}:
  containers.described:
    - name: {{ name | string | json }}
    - description: {{ description | json }}
{%- endfor %}
