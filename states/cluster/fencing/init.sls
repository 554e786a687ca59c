{#- Fencing devices as pacemaker stonith resources, and the cluster properties (stonith-enabled
    first among them). Each device is a CIB fragment on disk; cibadmin loads it only when it
    changed. Needs a running pacemaker (cluster.service). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_service_running = tplroot ~ ".service.running" %}
{%- from tplroot ~ "/map.jinja" import mapdata as cluster with context %}
{%- set fencing = cluster.fencing %}

{%- if cluster.pacemaker.enabled %}
include:
  - {{ sls_service_running }}

cluster-fencing-config-dir-file-directory:
  file.directory:
    - name: {{ fencing.config_dir }}
    - mode: "0700"
    - makedirs: true

{%- if fencing.enabled %}
{%- for name, device in fencing.devices | dictsort %}
cluster-fencing-{{ name }}-file-managed:
  file.managed:
    - name: {{ fencing.config_dir }}/{{ name }}.xml
    - mode: "0600"
    # It holds the fencing device's password: never in the state return or the log.
    - show_changes: false
    - source: salt://{{ tplroot }}/files/default/stonith.xml.jinja
    - template: jinja
    - context:
        name: {{ name }}
        device: {{ device | json }}
    - require:
      - file: cluster-fencing-config-dir-file-directory

cluster-fencing-{{ name }}-cmd-run:
  cmd.run:
    - name: cibadmin --modify --allow-create --scope resources --xml-file {{ (fencing.config_dir ~ "/" ~ name ~ ".xml") | quote }}
    - onchanges:
      - file: cluster-fencing-{{ name }}-file-managed
    - require:
      - sls: {{ sls_service_running }}
{%- endfor %}
{%- endif %}

{%- set properties = cluster.pacemaker.properties %}
{%- if not fencing.enabled %}{% do properties.update({"stonith-enabled": "false"}) %}{% endif %}
{#- Compared at render time with what the running cluster has, so an apply (or a dry run) only
    lists properties that differ. #}
{%- set have_crm = salt["cmd.which"]("crm_attribute") %}
{%- for key, value in properties | dictsort %}
{%- set current = salt["cmd.run_stdout"](["crm_attribute", "--type", "crm_config", "--name", key, "--query", "--quiet"], python_shell=False, ignore_retcode=True) if have_crm else none %}
{%- if current is none or current.strip() != value | string %}
cluster-fencing-property-{{ key }}-cmd-run:
  cmd.run:
    - name: crm_attribute --type crm_config --name {{ key | quote }} --update {{ value | string | quote }}
    - require:
      - sls: {{ sls_service_running }}
{%- endif %}
{%- endfor %}
{%- endif %}
