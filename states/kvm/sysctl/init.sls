{#- Kernel settings for a hypervisor, kept in their own sysctl.d file and applied at once. A key
    the running kernel does not have (net.bridge.* before br_netfilter is loaded) is reported,
    not failed. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

{%- for key, value in kvm.sysctl["values"] | dictsort %}
{%- if salt["file.file_exists"]("/proc/sys/" ~ key.replace(".", "/")) %}
kvm-sysctl-{{ key }}-sysctl-present:
  sysctl.present:
    - name: {{ key }}
    - value: {{ value | json }}
    - config: {{ kvm.sysctl.file }}
{%- else %}
kvm-sysctl-{{ key }}-test-show_notification:
  test.show_notification:
    - text: "{{ key }} is not in this kernel (module not loaded?): not set"
{%- endif %}
{%- endfor %}
