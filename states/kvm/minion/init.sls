{#- Brine on the minion: its modules, states, library (_utils) and the events engine synced from
    the master, and a minion.d snippet that enables the engine `brine_events` and says how to
    reach libvirt, the other hosts and, with kvm:docker:enabled, the Docker engine (docker.url,
    the brine_containers engine). The minion reads engines only when it starts, so it
    restarts (in the background, after this run) when the snippet changes. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

{#- Sync only when an extension differs from the file server's copy: Salt's saltutil state
    always answers "would have been run" under test=True, which would make every dry run look
    like pending work. #}
{%- set stale = [] %}
{%- if kvm.minion.sync %}
{%- set extmods = opts.get("extension_modules") or (opts.cachedir ~ "/extmods") %}
{#- utils: Brine's library, the package _utils/brine/ (kept as a folder by the sync). #}
{%- for kind in ["modules", "engines", "states", "utils"] %}
{%- for path in salt["cp.list_master"](prefix="_" ~ kind ~ "/") if path.endswith(".py") %}
{%- set local = extmods ~ "/" ~ kind ~ "/" ~ path[(kind | length) + 2:] %}
{%- set wanted = salt["cp.hash_file"]("salt://" ~ path) %}
{%- if not salt["file.file_exists"](local) or salt["file.get_hash"](local, form=wanted.hash_type) != wanted.hsum %}
{%- do stale.append(path) %}
{%- endif %}
{%- endfor %}
{%- endfor %}
{%- endif %}

{%- if stale %}
kvm-minion-saltutil-sync_all:
  saltutil.sync_all:
    - refresh: true
{%- endif %}

kvm-minion-snippet-file-managed:
  file.managed:
    - name: {{ kvm.minion.config_dir }}/brine-kvm.conf
    - makedirs: true
    - mode: "0644"
    - source: salt://{{ tplroot }}/files/default/minion-brine.conf.jinja
    - template: jinja
    - context:
        minion: {{ kvm.minion | json }}
        docker:
          enabled: {{ kvm.docker.enabled | json }}
          url: {{ kvm.docker.url | json }}
{%- if stale %}
    - require:
      - saltutil: kvm-minion-saltutil-sync_all
{%- endif %}

{%- if kvm.minion.restart %}
kvm-minion-restart-cmd-run:
  cmd.run:
    - name: salt-call --local service.restart salt-minion
    - bg: true
    - onchanges:
      - file: kvm-minion-snippet-file-managed
    - onlyif:
      - fun: service.available
        name: salt-minion
{%- endif %}
