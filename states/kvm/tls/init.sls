{#- TLS for migrations: the site CA certificate, and server and client keys made on this host
    (they never leave it) with certificates the CA minion signs under this host's own signing
    policies (x509_v2 remote signing over the master's peer interface): libvirt's pair at
    libvirt's default paths (/etc/pki/CA, /etc/pki/libvirt, /etc/pki/libvirt/private), and, with
    kvm:tls:migration, QEMU's pair in QEMU's TLS folder (kvm:tls:qemu_dir) for the migration
    streams themselves (qemu.conf's migrate_tls_*). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- set sls_service_running = tplroot ~ ".service.running" %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}
{%- set tls = kvm.tls %}

{%- if tls.enabled %}
{%- set ca_pem = tls.ca_cert_pem %}
{%- if not ca_pem %}
{%- set mined = salt["mine.get"](tls.ca_server, "x509.get_pem_entries") %}
{%- set ca_pem = mined.get(tls.ca_server, {}).get(tls.ca_cert_source) %}
{%- if not ca_pem %}
{{- raise("kvm:tls: the CA certificate " ~ tls.ca_cert_source ~ " of " ~ tls.ca_server ~ " is not in the mine; apply kvm.tls.ca on the CA minion first (or set kvm:tls:ca_cert_pem)") }}
{%- endif %}
{%- endif %}
{#- The CA pins CN and subjectAltName to this minion's id whatever is asked (one signing policy
    per host, kvm.tls.ca); asking for exactly that keeps a second apply quiet. #}
{%- set host = grains.id %}
{%- set qemu_group = kvm.qemu.group %}

include:
  - {{ sls_service_running }}
  - {{ tplroot ~ ".package.install" }}

kvm-tls-directories-file-directory:
  file.directory:
    - names:
      - {{ salt["file.dirname"](tls.ca_cert) }}:
        - mode: "0755"
      - {{ salt["file.dirname"](tls.server_cert) }}:
        - mode: "0755"
      - {{ salt["file.dirname"](tls.server_key) }}:
        - mode: "0700"
      - {{ salt["file.dirname"](tls.client_key) }}:
        - mode: "0700"
    - user: root
    - group: root
    - makedirs: true

kvm-tls-ca-cert-x509-pem_managed:
  x509.pem_managed:
    - name: {{ tls.ca_cert }}
    - text: {{ ca_pem | json }}
    - mode: "0644"
    - require:
      - file: kvm-tls-directories-file-directory
    - watch_in:
      - service: kvm-service-running-libvirtd-service-running

{%- if tls.migration %}
{#- QEMU's TLS folder for migration streams: QEMU runs as the qemu user and reads it itself. #}
kvm-tls-qemu-dir-file-directory:
  file.directory:
    - name: {{ tls.qemu_dir }}
    - user: root
    - group: {{ qemu_group }}
    - mode: "0750"
    - makedirs: true
    - require:
      - sls: {{ tplroot ~ ".package.install" }}

kvm-tls-qemu-ca-cert-x509-pem_managed:
  x509.pem_managed:
    - name: {{ tls.qemu_dir }}/ca-cert.pem
    - text: {{ ca_pem | json }}
    - mode: "0644"
    - require:
      - file: kvm-tls-qemu-dir-file-directory
{%- endif %}

{#- libvirt's pair (libvirtd's listener, and this host's connections to the others), then QEMU's
    own pair with a key of its own: QEMU's user can read that one, and its certificate
    (O=<qemu_organization>) is not one libvirtd's tls_allowed_dn_list lets in. #}
{%- set pairs = [("server", tls.server_key, tls.server_cert, "serverAuth", "", "root", "0600"),
                 ("client", tls.client_key, tls.client_cert, "clientAuth", "", "root", "0600")] %}
{%- if tls.migration %}
{%- for role, usage in [("server", "serverAuth"), ("client", "clientAuth")] %}
{%- do pairs.append(("qemu-" ~ role, tls.qemu_dir ~ "/" ~ role ~ "-key.pem", tls.qemu_dir ~ "/" ~ role ~ "-cert.pem", usage, ":qemu", qemu_group, "0640")) %}
{%- endfor %}
{%- endif %}
{%- for role, key, cert, usage, policy_suffix, key_group, key_mode in pairs %}
kvm-tls-{{ role }}-key-x509-private_key_managed:
  x509.private_key_managed:
    - name: {{ key }}
    - algo: {{ tls.key_algo }}
{%- if tls.key_algo == "rsa" %}
    - keysize: {{ tls.key_size }}
{%- endif %}
    - user: root
    - group: {{ key_group }}
    - mode: "{{ key_mode }}"
    - require:
      - file: kvm-tls-directories-file-directory
{%- if policy_suffix %}
      - file: kvm-tls-qemu-dir-file-directory
{%- endif %}

kvm-tls-{{ role }}-cert-x509-certificate_managed:
  x509.certificate_managed:
    - name: {{ cert }}
    - ca_server: {{ tls.ca_server }}
    - signing_policy: {{ (tls.signing_policy ~ ":" ~ host ~ policy_suffix) | json }}
    - private_key: {{ key }}
    - CN: {{ host | json }}
{%- if policy_suffix %}
    - O: {{ tls.qemu_organization | json }}
{%- endif %}
    - subjectAltName: {{ ("DNS:" ~ host) | json }}
    - extendedKeyUsage: {{ usage }}
    - days_remaining: {{ tls.days_remaining }}
    - mode: "0644"
    - require:
      - x509: kvm-tls-{{ role }}-key-x509-private_key_managed
      - x509: kvm-tls-ca-cert-x509-pem_managed
{%- if not policy_suffix %}
    - watch_in:
      - service: kvm-service-running-libvirtd-service-running
{%- endif %}
{%- endfor %}
{%- endif %}
