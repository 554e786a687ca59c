{#- Kernel command line arguments (kvm:kernel:cmdline) through a GRUB drop-in. The bootloader
    configuration is regenerated only when the drop-in changes, never on every apply. #}
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as kvm with context %}

{%- if kvm.kernel.cmdline and kvm.kernel.grub_dropin %}
kvm-kernel-grub-dropin-file-managed:
  file.managed:
    - name: {{ kvm.kernel.grub_dropin }}
    - makedirs: true
    - mode: "0644"
    - contents: |
        # Managed by Salt (Brine kvm formula): kernel arguments for a KVM host.
        GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT {{ kvm.kernel.cmdline | join(" ") }}"

{%- if kvm.kernel.update_command %}
kvm-kernel-update-grub-cmd-run:
  cmd.run:
    - name: {{ kvm.kernel.update_command }}
    - onchanges:
      - file: kvm-kernel-grub-dropin-file-managed
    - onlyif:
      - fun: cmd.which
        cmd: {{ kvm.kernel.update_command.split()[0] }}
{%- endif %}

{%- set running = salt["file.read"]("/proc/cmdline").split() if salt["file.file_exists"]("/proc/cmdline") else [] %}
{%- set missing = kvm.kernel.cmdline | reject("in", running) | list %}
{%- if missing %}
kvm-kernel-reboot-test-show_notification:
  test.show_notification:
    - text: "The running kernel lacks {{ missing | join(' ') }}: reboot to apply."
{%- endif %}
{%- endif %}
