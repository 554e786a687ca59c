{#- The site on this hypervisor host: its storage pools and their volumes, its networks and its
    guests, as pillar `site` describes them (docs/site.md). The host's part of the site is its
    picture (`salt hv1 site.picture`): the layers merged, derived values filled in, the whole site
    checked; an invalid site renders nothing and fails with the reason.
    Pools and volumes: saltext-virt's virt.pool_running and virt.volume_defined; networks and
    guests: Brine's site.network and site.guest (_states/site.py says why). #}
{%- set picture = salt["site.picture"]() %}

{%- for name, pool in picture.pools | dictsort %}
site-pool-{{ name }}-virt-pool_running:
  virt.pool_running:
    - name: {{ name | json }}
{%- for key, value in pool.virt | dictsort %}
    - {{ key }}: {{ value | json }}
{%- endfor %}
{%- endfor %}

{%- for volume in picture.volumes %}
site-volume-{{ volume.pool }}-{{ volume.name }}-virt-volume_defined:
  virt.volume_defined:
{%- for key, value in volume.virt | dictsort %}
    - {{ key }}: {{ value | json }}
{%- endfor %}
{%- if volume.pool in picture.pools %}
    - require:
      - virt: site-pool-{{ volume.pool }}-virt-pool_running
{%- endif %}
{%- endfor %}

{%- for name in picture.networks | sort %}
site-network-{{ name }}-site-network:
  site.network:
    - name: {{ name | json }}
{%- endfor %}

{%- for name, guest in picture.guests | dictsort %}
site-guest-{{ name }}-site-guest:
  site.guest:
    - name: {{ name | json }}
{%- set requires = [] %}
{%- for nic in guest.interfaces if nic.network in picture.networks %}
{%- set item = {"site": "site-network-" ~ nic.network ~ "-site-network"} %}
{%- if item not in requires %}{% do requires.append(item) %}{% endif %}
{%- endfor %}
{%- for disk in guest.disks if disk.pool %}
{%- if disk.size_gib %}
{%- set item = {"virt": "site-volume-" ~ disk.pool ~ "-" ~ disk.vol ~ "-virt-volume_defined"} %}
{%- if item not in requires %}{% do requires.append(item) %}{% endif %}
{%- elif disk.pool in picture.pools %}
{%- set item = {"virt": "site-pool-" ~ disk.pool ~ "-virt-pool_running"} %}
{%- if item not in requires %}{% do requires.append(item) %}{% endif %}
{%- endif %}
{%- endfor %}
{%- if requires %}
    - require: {{ requires | json }}
{%- endif %}
{%- endfor %}
