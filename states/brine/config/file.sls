{#- The master's Brine configuration from the repository checkout, the same files the lab uses
    (lab/brinelab.py renders this formula and writes what these states would): the master.d
    snippets (salt-api, eauth, master needs), a snippet with the paths (file_roots, runner_dirs,
    utils_dirs), the console token directory and the x509 peer permission, the file root that
    exposes only the extension folders, the nginx site from nginx/brine.conf.j2 (and, when
    nginx:main is set, a main nginx.conf of its own), websockify's service definition, and the
    PAM service of Brine's logins (/etc/pam.d/brine). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_package_install = tplroot ~ ".package.install" %}
{%- from tplroot ~ "/map.jinja" import mapdata as brine with context %}
{%- set master_d = brine.salt_config_dir ~ "/master.d" %}
{#- x509_peers: the hypervisor minion ids (a list, written as one anchored expression), or an
    anchored regular expression of them; empty: no minion may ask the CA. #}
{%- set peers = brine.x509_peers or [] %}
{%- if peers is string %}
{%- if not (peers.startswith("^") and peers.endswith("$")) or peers in ["^.*$", "^.+$"] %}
{{- raise("brine:master:x509_peers must be the hypervisor minion ids (a list) or an anchored expression (^hv[0-9]+\\.example\\.com$) matching only them, not " ~ peers) }}
{%- endif %}
{%- set x509_peers = peers %}
{%- else %}
{%- for peer in peers if peer is not string or not (peer | regex_match("^([A-Za-z0-9][A-Za-z0-9_.-]{0,252})\\Z")) %}
{{- raise("brine:master:x509_peers: " ~ peer ~ " is not a minion id") }}
{%- endfor %}
{%- set x509_peers = ("^(" ~ (peers | map("regex_escape") | join("|")) ~ ")$") if peers else none %}
{%- endif %}

include:
  - {{ sls_package_install }}

{%- for snippet in ["brine-api.conf", "brine-eauth.conf", "brine-master.conf"] %}
brine-config-file-{{ snippet }}-file-managed:
  file.managed:
    - name: {{ master_d }}/{{ snippet }}
    - source: {{ brine.repo }}/master.d/{{ snippet }}
    - mode: "0644"
    - makedirs: true
{%- endfor %}

brine-config-file-catalog-dir-file-directory:
  file.directory:
    - name: {{ brine.catalog_dir }}
    - user: root
    - mode: "0750"
    - makedirs: true

brine-config-file-brine-paths-conf-file-managed:
  file.managed:
    - name: {{ master_d }}/brine-paths.conf
    - mode: "0644"
    - makedirs: true
    - contents: |
        # Managed by Salt (Brine brine formula): where Brine's code lives on this master.
        file_roots:
          base:
            - {{ brine.fileroot }}
            - {{ brine.repo }}/states
        runner_dirs:
          - {{ brine.repo }}/_runners
        # Brine's library (the brine package) for the runners, as hosts get it by syncing _utils.
        utils_dirs:
          - {{ brine.repo }}/_utils
        # Brine's event stream: the master engine brine_stream (its settings: brine:stream:*),
        # which serves the browser only Brine's events, checked, on loopback behind nginx.
        engines_dirs:
          - {{ brine.repo }}/_engines
        engines:
          - brine_stream: {}
        # The provisioning catalog as pillar for states (brine:catalog), read by the ext_pillar
        # brine_catalog from brine:provision:catalog_dir. A site with its own ext_pillar list
        # adds this entry to it (a master.d list replaces, it does not merge).
        pillar_dirs:
          - {{ brine.repo }}/_pillar
        # The landscape as pillar (docs/landscape.md): brine_landscape serves hypervisor hosts a
        # miniascape conf.d tree (brine:landscape:confd) with pillar `landscape` merged over it.
        ext_pillar:
          - brine_catalog: {}
          - brine_landscape: {}
        # Consoles: where cluster.console writes one-time tokens; websockify reads the same
        # folder (--token-source), both from brine:master:websockify:token_dir. The record
        # both append to (websockify's --auth-source) from brine:master:websockify:record.
        brine:
          console:
            token_dir: {{ brine.websockify.token_dir | json }}
            record: {{ brine.websockify.record | json }}
          # The provisioning catalog's folder (the provision runner and brine_catalog read it).
          provision:
            catalog_dir: {{ brine.catalog_dir | json }}
          # The miniascape conf.d tree the brine_landscape ext_pillar reads ("": none).
          landscape:
            confd: {{ brine.landscape_confd | json }}
            host: {{ brine.landscape_host | json }}
          # The stream listens where nginx proxies /stream, and asks salt-api where nginx does.
          stream:
            listen: {{ brine.nginx.stream_upstream | json }}
            salt_api: {{ ("http://" ~ brine.nginx.api_upstream) | json }}
{%- if brine.registry.enabled and brine.registry.name %}
          # The site's registry this master runs (brine:master:registry): its name in image
          # references, and where the containers runner reads its catalog.
          containers:
            registry: {{ brine.registry.name | json }}
            registry_url: {{ brine.registry.url | json }}
{%- endif %}
{%- if x509_peers %}
        # Only the hypervisor hosts may ask the CA minion to sign (their own) certificates
        # (kvm.tls, x509_v2; the CA's per-host signing policies pin each to its own id).
        peer:
          {{ x509_peers | json }}:
            - x509.sign_remote_certificate
{%- endif %}

{%- for folder in ["_modules", "_engines", "_states", "_utils"] %}
brine-config-file-fileroot-{{ folder }}-file-symlink:
  file.symlink:
    - name: {{ brine.fileroot }}/{{ folder }}
    - target: {{ brine.repo }}/{{ folder }}
    - makedirs: true
{%- endfor %}

brine-config-file-nginx-site-file-managed:
  file.managed:
    - name: {{ brine.nginx.site }}
    - source: {{ brine.repo }}/nginx/brine.conf.j2
    - template: jinja
    - mode: "0644"
    - makedirs: true
    - context:
        listen: {{ brine.nginx.listen | json }}
        server_name: {{ brine.nginx.server_name | json }}
        tls_cert: {{ brine.nginx.tls_cert | json }}
        tls_key: {{ brine.nginx.tls_key | json }}
        web_root: {{ (brine.repo ~ "/web") | json }}
        api_upstream: {{ brine.nginx.api_upstream | json }}
        console_upstream: {{ brine.nginx.console_upstream | json }}
        stream_upstream: {{ brine.nginx.stream_upstream | json }}
        site_origin: {{ (brine.nginx.site_origin or "https://" ~ brine.nginx.server_name) | json }}
        access_log: {{ brine.nginx.access_log | json }}
        limits: {{ brine.nginx.limits | json }}
    - require:
      - sls: {{ sls_package_install }}

{#- Logins: the PAM service salt-api's eauth uses (auth.pam.service: brine in brine-eauth.conf). #}
brine-config-file-pam-service-file-managed:
  file.managed:
    - name: /etc/pam.d/brine
    - source: salt://{{ tplroot }}/files/default/pam.jinja
    - template: jinja
    - mode: "0644"
    - context:
        groups: ["brine-admin", "brine-operator", "brine-viewer"]
        faillock: {{ brine.pam.faillock | json }}

{%- if brine.nginx.main %}
brine-config-file-nginx-main-file-managed:
  file.managed:
    - name: {{ brine.nginx.main.config }}
    - source: salt://{{ tplroot }}/files/default/nginx.conf.jinja
    - template: jinja
    - mode: "0644"
    - makedirs: true
    - context:
        main: {{ brine.nginx.main | json }}
        site: {{ brine.nginx.site | json }}
    - require:
      - sls: {{ sls_package_install }}

brine-config-file-nginx-main-tmp-file-directory:
  file.directory:
    - name: {{ brine.nginx.main.dir }}/tmp
    - makedirs: true
{%- endif %}

{%- if brine.init_system == "systemd" %}
brine-config-file-websockify-unit-file-managed:
  file.managed:
    - name: /etc/systemd/system/{{ brine.services.websockify }}.service
    - source: salt://{{ tplroot }}/files/default/websockify.service.jinja
    - template: jinja
    - mode: "0644"
    - context:
        websockify: {{ brine.websockify | json }}

brine-config-file-websockify-unit-module-run:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: brine-config-file-websockify-unit-file-managed
{%- else %}
brine-config-file-websockify-unit-file-managed:
  file.managed:
    - name: /etc/init.d/{{ brine.services.websockify }}
    - source: salt://{{ tplroot }}/files/default/websockify.init.jinja
    - template: jinja
    - mode: "0755"
    - context:
        websockify: {{ brine.websockify | json }}
        name: {{ brine.services.websockify }}

{#- What a package's postinst does for its init script: the rc links (Salt's enable would need
    insserv, which Debian 12 does not install). #}
brine-config-file-websockify-rc-links-cmd-run:
  cmd.run:
    - name: update-rc.d {{ brine.services.websockify | quote }} defaults
    - onchanges:
      - file: brine-config-file-websockify-unit-file-managed
{%- endif %}
