{#- libvirt's TLS transport for migrations: the site CA certificate, and a server and a client
    key made on this host (they never leave it) with certificates the CA minion signs through the
    x509_v2 signing policy (remote signing over the master's peer interface). Paths are libvirt's
    defaults (/etc/pki/CA, /etc/pki/libvirt, /etc/pki/libvirt/private). #}
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
{%- set host = grains.get("host") or grains.id %}
{%- set names = [grains.id, host, grains.get("fqdn")] + tls.subject_alt_names %}
{%- set sans = [] %}
{%- for name in names if name and name not in sans %}{% do sans.append(name) %}{% endfor %}
{%- set san_entries = [] %}
{%- for name in sans %}{% do san_entries.append(("IP:" if name | is_ip else "DNS:") ~ name) %}{% endfor %}

include:
  - {{ sls_service_running }}

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

{%- for role, key, cert, usage in [("server", tls.server_key, tls.server_cert, "serverAuth"),
                                   ("client", tls.client_key, tls.client_cert, "clientAuth")] %}
kvm-tls-{{ role }}-key-x509-private_key_managed:
  x509.private_key_managed:
    - name: {{ key }}
    - algo: {{ tls.key_algo }}
{%- if tls.key_algo == "rsa" %}
    - keysize: {{ tls.key_size }}
{%- endif %}
    - mode: "0600"
    - require:
      - file: kvm-tls-directories-file-directory

kvm-tls-{{ role }}-cert-x509-certificate_managed:
  x509.certificate_managed:
    - name: {{ cert }}
    - ca_server: {{ tls.ca_server }}
    - signing_policy: {{ tls.signing_policy }}
    - private_key: {{ key }}
    - CN: {{ host }}
    - subjectAltName: {{ san_entries | join(", ") | json }}
    - extendedKeyUsage: {{ usage }}
    - days_remaining: {{ tls.days_remaining }}
    - mode: "0644"
    - require:
      - x509: kvm-tls-{{ role }}-key-x509-private_key_managed
      - x509: kvm-tls-ca-cert-x509-pem_managed
    - watch_in:
      - service: kvm-service-running-libvirtd-service-running
{%- endfor %}
{%- endif %}
