{#- A hugetlbfs mount for guests backed by huge pages (kvm:hugepages:enabled). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

{%- if kvm.hugepages.enabled %}
kvm-hugepages-mount-mounted:
  mount.mounted:
    - name: {{ kvm.hugepages.mountpoint }}
    - device: hugetlbfs
    - fstype: hugetlbfs
    - opts: pagesize={{ kvm.hugepages.pagesize }}
    - mkmnt: true
    - persist: true
{%- endif %}
