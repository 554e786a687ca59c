{#- Shared storage mounts from pillar (kvm:mounts), e.g. NFS for guest images. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}
{%- set fstypes = kvm.mounts.values() | map(attribute="fstype") | list %}

{%- if "nfs" in fstypes or "nfs4" in fstypes %}
kvm-mounts-nfs-client-pkg-installed:
  pkg.installed:
    - name: {{ "nfs-common" if grains.os_family == "Debian" else "nfs-utils" }}
{%- endif %}

{%- for mountpoint, mount in kvm.mounts | dictsort %}
kvm-mounts-{{ mountpoint }}-mount-mounted:
  mount.mounted:
    - name: {{ mountpoint }}
    - device: {{ mount.device }}
    - fstype: {{ mount.fstype }}
    - opts: {{ mount.get("opts", "defaults") }}
    - mkmnt: true
    - persist: {{ mount.get("persist", True) | json }}
{%- if mount.fstype in ["nfs", "nfs4"] %}
    - require:
      - pkg: kvm-mounts-nfs-client-pkg-installed
{%- endif %}
{%- endfor %}
