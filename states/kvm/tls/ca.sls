{#- The site CA for libvirt's TLS, on the CA minion (kvm:tls:ca_server; can be the master's own
    minion): its key (made here, never leaves), a self-signed certificate, and a minion.d snippet
    with the signing policy host certificates are issued under and the mine function that
    publishes the CA certificate to the hosts. The minion restarts when the snippet changes.
    The master must let hosts call x509.sign_remote_certificate (the brine formula's peer
    snippet). #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}
{%- set ca = kvm.ca %}
{%- if not kvm.tls.hosts %}
{{- raise("kvm:tls:hosts must list the site's hypervisor minion ids: the CA signs only for them") }}
{%- endif %}

kvm-tls-ca-directories-file-directory:
  file.directory:
    - names:
      - {{ salt["file.dirname"](ca.key) }}
      - {{ ca.issued_copypath }}
    - mode: "0700"
    - makedirs: true

kvm-tls-ca-key-x509-private_key_managed:
  x509.private_key_managed:
    - name: {{ ca.key }}
    - algo: rsa
    - keysize: 4096
    - mode: "0600"
    - require:
      - file: kvm-tls-ca-directories-file-directory

kvm-tls-ca-cert-x509-certificate_managed:
  x509.certificate_managed:
    - name: {{ ca.cert }}
    - signing_private_key: {{ ca.key }}
    - CN: {{ ca.common_name | json }}
    - basicConstraints: "critical, CA:true"
    - keyUsage: "critical, cRLSign, keyCertSign"
    - subjectKeyIdentifier: hash
    - authorityKeyIdentifier: keyid:always
    - days_valid: {{ ca.days_valid }}
    - days_remaining: 90
    - mode: "0644"
    - require:
      - x509: kvm-tls-ca-key-x509-private_key_managed

{#- One signing policy per host listed in kvm:tls:hosts, usable by that minion only (a glob of
    its id: no peer_run, no grains), with CN and subjectAltName pinned to its id, the key usages
    pinned, never a CA; a second one per host for QEMU's migration certificates (O pinned too). #}
{%- set policies = {} %}
{%- set common = [
      {"signing_private_key": ca.key},
      {"signing_cert": ca.cert},
      {"basicConstraints": "critical, CA:false"},
      {"keyUsage": "critical, digitalSignature, keyEncipherment"},
      {"extendedKeyUsage": "serverAuth, clientAuth"},
      {"subjectKeyIdentifier": "hash"},
      {"authorityKeyIdentifier": "keyid:always"},
      {"days_valid": ca.issued_days_valid},
      {"copypath": ca.issued_copypath},
    ] %}
{%- for host in kvm.tls.hosts %}
{%- set names = ["DNS:" ~ host] %}
{%- for name in ca.subject_alt_names.get(host, []) %}
{%- if not (name | string | regex_match("^([A-Za-z0-9_.:-]+)\\Z")) %}
{{- raise("kvm:ca:subject_alt_names:" ~ host ~ ": " ~ name ~ " is not a host name or address") }}
{%- endif %}
{%- do names.append(("IP:" if name | is_ip else "DNS:") ~ name) %}
{%- endfor %}
{%- set pinned = [{"minions": host}, {"CN": host}, {"subjectAltName": names | join(", ")}] + common %}
{%- do policies.update({kvm.tls.signing_policy ~ ":" ~ host: pinned}) %}
{%- do policies.update({kvm.tls.signing_policy ~ ":" ~ host ~ ":qemu": pinned + [{"O": kvm.tls.qemu_organization}]}) %}
{%- endfor %}

kvm-tls-ca-snippet-file-managed:
  file.managed:
    - name: {{ kvm.minion.config_dir }}/brine-ca.conf
    - makedirs: true
    - mode: "0600"
    - contents: |
        # Managed by Salt (Brine kvm formula): this minion is the site CA for libvirt TLS.
        mine_functions:
          x509.get_pem_entries:
            - {{ ca.cert }}
        x509_signing_policies: {{ policies | json }}

{%- if kvm.minion.restart %}
kvm-tls-ca-restart-cmd-run:
  cmd.run:
    - name: salt-call --local service.restart salt-minion
    - bg: true
    - onchanges:
      - file: kvm-tls-ca-snippet-file-managed
    - onlyif:
      - fun: service.available
        name: salt-minion
{%- endif %}
