{#- The landscape on this hypervisor host: its storage pools and their volumes, its networks and its
    guests, as pillar `landscape` describes them (docs/landscape.md). The host's part of the landscape is its
    picture (`salt hv1 landscape.picture`): the layers merged, derived values filled in, the whole landscape
    checked; an invalid landscape renders nothing and fails with the reason.
    Pools: saltext-virt's virt.pool_running; volumes, networks and guests: Brine's
    landscape.volume, landscape.network and landscape.guest (_states/landscape.py says why). #}
{%- set picture = salt["landscape.picture"]() %}

{%- for name, pool in picture.pools | dictsort %}
landscape-pool-{{ name }}-virt-pool_running:
  virt.pool_running:
    - name: {{ name | json }}
{%- for key, value in pool.virt | dictsort %}
    - {{ key }}: {{ value | json }}
{%- endfor %}
{%- endfor %}

{%- for volume in picture.volumes %}
{#- pool/volume: no name has a "/", so no two volumes share an ID. #}
landscape-volume-{{ volume.pool }}/{{ volume.name }}-landscape-volume:
  landscape.volume:
    - name: {{ volume.name | json }}
    - pool: {{ volume.pool | json }}
{%- if volume.pool in picture.pools %}
    - require:
      - virt: landscape-pool-{{ volume.pool }}-virt-pool_running
{%- endif %}
{%- endfor %}

{%- for name in picture.networks | sort %}
landscape-network-{{ name }}-landscape-network:
  landscape.network:
    - name: {{ name | json }}
{%- endfor %}

{%- for name, guest in picture.guests | dictsort %}
landscape-guest-{{ name }}-landscape-guest:
  landscape.guest:
    - name: {{ name | json }}
{%- set requires = [] %}
{%- for nic in guest.interfaces if nic.network in picture.networks %}
{%- set item = {"landscape": "landscape-network-" ~ nic.network ~ "-landscape-network"} %}
{%- if item not in requires %}{% do requires.append(item) %}{% endif %}
{%- endfor %}
{%- for disk in guest.disks if disk.pool %}
{%- if disk.size_gib %}
{%- set item = {"landscape": "landscape-volume-" ~ disk.pool ~ "/" ~ disk.vol ~ "-landscape-volume"} %}
{%- if item not in requires %}{% do requires.append(item) %}{% endif %}
{%- elif disk.pool in picture.pools %}
{%- set item = {"virt": "landscape-pool-" ~ disk.pool ~ "-virt-pool_running"} %}
{%- if item not in requires %}{% do requires.append(item) %}{% endif %}
{%- endif %}
{%- endfor %}
{%- if requires %}
    - require: {{ requires | json }}
{%- endif %}
{%- endfor %}
