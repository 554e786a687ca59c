#!/bin/sh
# The lab's installer (busybox sh), run by the install tree's /init: Anaconda simulated.
# It reads the kickstart named by inst.ks= (file:/ks.cfg, which virt-install's --initrd-inject
# puts at the initramfs root, or http(s)://...), checks it (kickstart.sh), brings the network up
# as the kickstart says, reads the install tree at its `url`, and writes onto /dev/vda what it was
# told: one MBR partition with an ext2 filesystem holding the tree's kernel and the installed
# system's initramfs, extlinux as the boot loader, the host name, repositories, users, SSH keys,
# the package list, the %post scripts (recorded, not run) and a summary, /etc/brine-install.txt.
# It reports on the serial console, one line each (docs/provisioning.md, The install):
#   brine-install: progress <percent> <step>    brine-install: done    brine-install: failed <reason>
# The password hash is written into /etc/shadow only: never printed, never in the summary.
KS=/run/ks
T=/sysroot
LOG=/run/install.log
TREEINFO=/run/treeinfo
US=$(printf '\037')  # the fields' separator in the kickstart's facts (kickstart.awk)

say() {
    echo "brine-install: $*" >/dev/ttyS0
    echo "brine-install: $*" >>"$LOG"
    echo "brine-install: $*" 2>/dev/null >/dev/tty1
}
progress() { say "progress $*"; }
note() { echo "  $*" >>"$LOG"; echo "  $*" 2>/dev/null >/dev/tty1; }
fail() { say "failed $*"; : >/run/brine-failed; exit 1; }
# (busybox 1.35's wget -T crashes: timeout bounds it instead.)
fetch() { timeout 120 wget -q -O "$2" "$1" 2>/run/wget.log || { rm -f "$2"; return 1; }; }
why() { tail -n 1 /run/wget.log | sed 's/^wget: //'; }
value() { cat "$KS/$1" 2>/dev/null; }
arg() {  # the value of a kernel command line option
    set -f
    for word in $(cat /proc/cmdline); do
        case "$word" in "$1"=*) echo "${word#*=}"; break ;; esac
    done
    set +f
}

# -- network --------------------------------------------------------------------------------
first_nic() {  # the first NIC, once the drivers have found it (5 s at most)
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do
        for n in /sys/class/net/*; do [ "${n##*/}" = lo ] || { echo "${n##*/}"; return; }; done
        sleep 0.2
    done
}
# The NIC a kickstart's --device names: none, link or bootif (the first), a MAC or a name.
nic_of() {
    case "$1" in
        "" | link | bootif) first_nic ;;
        ??:??:??:??:??:??)
            first_nic >/dev/null
            mac=$(echo "$1" | tr A-F a-f)
            for n in /sys/class/net/*; do [ "$(cat "$n/address")" = "$mac" ] && echo "${n##*/}"; done ;;
        *) [ -e "/sys/class/net/$1" ] && echo "$1" ;;
    esac
}
nic_up() {  # nic bootproto ip netmask gateway nameservers
    grep -qx "$1" /run/nics-up 2>/dev/null && [ "$2" = dhcp ] && return 0
    ip link set "$1" up
    case "$2" in
        dhcp | bootp) udhcpc -i "$1" -s /etc/udhcpc.script -q -n -t 6 -T 2 >/dev/null 2>&1 || return 1 ;;
        static)
            [ -n "$3" ] && ifconfig "$1" "$3" netmask "${4:-255.255.255.0}" up || return 1
            [ -z "$5" ] || route add default gw "$5" dev "$1" 2>/dev/null
            [ -z "$6" ] || echo "$6" | tr , '\n' | sed 's/^/nameserver /' >/etc/resolv.conf ;;
        *) return 1 ;;
    esac
    echo "$1" >>/run/nics-up
    echo "$1$US$2$US$3$US$4$US$5" >>/run/network
    echo "$1 ($(cat "/sys/class/net/$1/address")) $2 $(ip -4 -o addr show dev "$1" | awk '{print $4}')" \
        >>/run/network.txt
    note "network: $(tail -n 1 /run/network.txt)"
}
start_network() {
    if [ -s "$KS/networks" ]; then
        while IFS="$US" read -r dev proto ip mask gw dns; do
            nic=$(nic_of "$dev")
            [ -n "$nic" ] || fail "network: no network device ${dev:-at all}"
            nic_up "$nic" "$proto" "$ip" "$mask" "$gw" "$dns" || fail "network: cannot bring up $nic ($proto)"
        done <"$KS/networks"
    fi
    [ -s /run/nics-up ] && return
    nic=$(first_nic)
    [ -n "$nic" ] || fail "network: no network device at all"
    nic_up "$nic" dhcp || fail "network: no DHCP lease on $nic"
}

# -- the kickstart and the tree -------------------------------------------------------------
read_kickstart() {
    ks=$(arg inst.ks)
    [ -n "$ks" ] || ks=$(arg ks)
    case "$ks" in
        "") fail "no kickstart: inst.ks= is not on the kernel command line" ;;
        file:*) cp "${ks#file:}" /run/ks.cfg 2>/dev/null || fail "kickstart ${ks#file:} is not in the initrd" ;;
        http://* | https://*)
            nic=$(first_nic)
            [ -n "$nic" ] && nic_up "$nic" dhcp || fail "network: no DHCP lease to fetch the kickstart"
            fetch "$ks" /run/ks.cfg || fail "cannot fetch the kickstart $ks: $(why)" ;;
        *) fail "inst.ks=$ks: only file: and http(s):// kickstarts are supported" ;;
    esac
    note "kickstart: $ks"
}
check_kickstart() {
    if sh /lib/brine/kickstart.sh /run/ks.cfg "$KS" >/run/ks-errors 2>&1; then
        for f in repos networks users sshkeys packages; do touch "$KS/$f"; done
        return
    fi
    while read -r line; do note "kickstart: $line"; done </run/ks-errors
    fail "kickstart: $(head -n 1 /run/ks-errors)$([ "$(wc -l </run/ks-errors)" -gt 1 ] && echo ' (and more)')"
}
treeinfo() {  # section key
    awk -v s="[$1]" -v k="$2" '/^\[/ { sec = ($1 == s) } sec && $1 == k && $2 == "=" { sub(/^[^=]*= */, ""); print; exit }' \
        "$TREEINFO"
}
read_tree() {
    TREE=$(value url)
    TREE=${TREE%/}
    fetch "$TREE/.treeinfo" "$TREEINFO" || fail "cannot read the install tree $TREE/.treeinfo: $(why)"
    KERNEL=$(treeinfo images-x86_64 kernel)
    SYSTEM=$(treeinfo brine system_initrd)
    [ -n "$KERNEL" ] && [ -n "$SYSTEM" ] || fail "$TREE is not a Brine lab install tree"
    note "install tree: $TREE ($(treeinfo general name))"
}
get() {  # path in the tree, target: fetched and checked against the tree's checksums
    fetch "$TREE/$1" "$2" || fail "cannot fetch $TREE/$1: $(why)"
    want=$(treeinfo checksums "$1")
    [ "sha256:$(sha256sum "$2" | cut -d' ' -f1)" = "$want" ] || fail "$1: checksum mismatch"
}

# -- the disk -------------------------------------------------------------------------------
prepare_disk() {
    i=0
    while [ ! -b /dev/vda ]; do
        i=$((i + 1)); [ $i -gt 50 ] && fail "no disk: /dev/vda (virtio) did not appear"; sleep 0.2
    done
    sectors=$(cat /sys/block/vda/size)
    [ "$sectors" -ge 131072 ] || fail "disk /dev/vda is too small ($((sectors / 2048)) MiB, 64 MiB needed)"
    dd if=/dev/zero of=/dev/vda bs=1M count=1 2>/dev/null
    printf 'o\nn\np\n1\n2048\n\na\n1\nw\n' | fdisk /dev/vda >/dev/null 2>&1
    i=0
    while [ ! -b /dev/vda1 ]; do
        i=$((i + 1)); [ $i -gt 50 ] && fail "partitioning /dev/vda failed"; sleep 0.2
    done
    mke2fs -q -F -L brine-root /dev/vda1 >/dev/null 2>&1 || fail "mke2fs /dev/vda1 failed"
    mkdir -p "$T" && mount -t ext2 /dev/vda1 "$T" || fail "cannot mount /dev/vda1"
    note "disk: /dev/vda $((sectors / 2048)) MiB, /dev/vda1 ext2"
}

# -- the installed system -------------------------------------------------------------------
install_files() {
    for d in bin sbin etc/yum.repos.d root/.ssh home boot/extlinux proc sys dev tmp run usr/bin usr/sbin \
        var/log/anaconda; do
        mkdir -p "$T/$d"
    done
    chmod 700 "$T/root" "$T/root/.ssh"
    cp /bin/busybox "$T/bin/busybox" && chroot "$T" /bin/busybox --install -s /bin || fail "cannot install busybox"
    cp /lib/brine/system-init "$T/sbin/init" && chmod 755 "$T/sbin/init"
    cp /etc/udhcpc.script "$T/etc/udhcpc.script"
    get "$KERNEL" "$T/boot/vmlinuz"
    get "$SYSTEM" "$T/boot/initrd.img"
    printf 'NAME="Brine lab installed system"\nID=brine-lab\nPRETTY_NAME="Brine lab installed system"\n' \
        >"$T/etc/os-release"
    echo "/dev/vda1 / ext2 defaults 0 1" >"$T/etc/fstab"
}
record_packages() {
    cp "$KS/packages" "$T/var/log/anaconda/packages.txt"
    n=0
    while [ -e "$KS/post.$((n + 1))" ]; do
        n=$((n + 1)); cp "$KS/post.$n" "$T/var/log/anaconda/post-$n.sh"
    done
    note "packages: $(wc -l <"$KS/packages") requested, recorded in /var/log/anaconda/packages.txt"
}
add_user() {  # name uid hash home
    echo "$1:x:$2:$2::$4:/bin/sh" >>"$T/etc/passwd"
    echo "$1:x:$2:" >>"$T/etc/group"
    echo "$1:${3:-!}:$(($(date +%s) / 86400)):0:99999:7:::" >>"$T/etc/shadow"
}
configure() {
    hostname=$(value hostname)
    echo "$hostname" >"$T/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 %s %s\n' "$hostname" "${hostname%%.*}" >"$T/etc/hosts"
    : >"$T/etc/passwd"; : >"$T/etc/group"; (umask 077; : >"$T/etc/shadow")
    hash=$(value rootpw)
    [ -e "$KS/rootpw.lock" ] && hash="!$hash"
    add_user root 0 "$hash" /root
    uid=1000
    while IFS="$US" read -r name hash groups; do
        add_user "$name" "$uid" "$hash" "/home/$name"
        mkdir -p "$T/home/$name/.ssh" && chmod 700 "$T/home/$name" "$T/home/$name/.ssh"
        chown -R "$uid:$uid" "$T/home/$name"
        for g in $(echo "$groups" | tr , ' '); do
            if grep -q "^$g:" "$T/etc/group"; then
                sed -i "s/^$g:.*[^:]\$/&,$name/; s/^$g:\(.*\):\$/$g:\1:$name/" "$T/etc/group"
            else
                echo "$g:x:$((uid + 1000)):$name" >>"$T/etc/group"
            fi
        done
        uid=$((uid + 1))
    done <"$KS/users"
    while IFS="$US" read -r name key; do
        home=/root; [ "$name" = root ] || home=/home/$name
        echo "$key" >>"$T$home/.ssh/authorized_keys"
        chmod 600 "$T$home/.ssh/authorized_keys"
        [ "$name" = root ] || chown "$(grep "^$name:" "$T/etc/passwd" | cut -d: -f3,4)" "$T$home/.ssh/authorized_keys"
    done <"$KS/sshkeys"
    # Every repo line becomes a repository of the installed system (Anaconda keeps only those
    # with --install; the lab keeps them all, to show what the kickstart carried).
    while IFS="$US" read -r name url; do
        printf '[%s]\nname=%s\nbaseurl=%s\nenabled=1\ngpgcheck=0\n' "$name" "$name" "$url" \
            >"$T/etc/yum.repos.d/$name.repo"
    done <"$KS/repos"
    [ -s "$KS/lang" ] && echo "LANG=$(value lang)" >"$T/etc/locale.conf"
    [ -s "$KS/keyboard" ] && echo "KEYMAP=$(value keyboard)" >"$T/etc/vconsole.conf"
    [ -s "$KS/timezone" ] && ln -s "/usr/share/zoneinfo/$(value timezone)" "$T/etc/localtime"
    cp /run/network "$T/etc/brine-network"
    [ -s /etc/resolv.conf ] && cp /etc/resolv.conf "$T/etc/resolv.conf"
    (umask 077; cp /run/ks.cfg "$T/root/anaconda-ks.cfg")
}
install_bootloader() {
    cat >"$T/boot/extlinux/extlinux.conf" <<CONF
DEFAULT brine
PROMPT 0
TIMEOUT 0
LABEL brine
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.img
  APPEND root=/dev/vda1 console=tty0 console=ttyS0 quiet $(value bootloader.append)
CONF
    extlinux --install "$T/boot/extlinux" >/run/extlinux.log 2>&1 || fail "extlinux: $(tail -n 1 /run/extlinux.log)"
    dd if=/usr/lib/syslinux/mbr.bin of=/dev/vda bs=440 count=1 conv=notrunc 2>/dev/null ||
        fail "cannot write the MBR boot code"
    note "boot loader: extlinux on /dev/vda1, syslinux mbr.bin on /dev/vda"
}

# -- the record -----------------------------------------------------------------------------
hash_kind() {
    case "$1" in
        '$6$'*) echo "SHA-512 crypt" ;; '$5$'*) echo "SHA-256 crypt" ;; '$y$'*) echo "yescrypt" ;;
        '$2'*) echo "bcrypt" ;; *) echo "crypt" ;;
    esac
}
keys_of() { grep -c "^$1$US" "$KS/sshkeys"; }
summary() {
    echo "Installed by Brine's lab installer (Anaconda simulated), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "host name      $(value hostname)"
    echo "install tree   $(value url)"
    while IFS="$US" read -r name url; do echo "repository     $name  $url"; done <"$KS/repos"
    while read -r line; do echo "network        $line"; done </run/network.txt
    root="no password"
    [ -s "$KS/rootpw" ] && root="password hash ($(hash_kind "$(value rootpw)"))"
    [ -e "$KS/rootpw.lock" ] && root="$root, locked"
    echo "root           $root, $(keys_of root) SSH key(s)"
    while IFS="$US" read -r name hash groups; do
        echo "user           $name${groups:+ (groups $groups)}, ${hash:+password hash, }$(keys_of "$name") SSH key(s)"
    done <"$KS/users"
    [ -s "$KS/timezone" ] && echo "time zone      $(value timezone)$([ -e "$KS/timezone.utc" ] && echo ' (UTC clock)')"
    [ -s "$KS/lang" ] && echo "language       $(value lang)"
    [ -s "$KS/keyboard" ] && echo "keyboard       $(value keyboard)"
    echo "packages       $(wc -l <"$KS/packages") requested: $(head -n 8 "$KS/packages" | tr '\n' ' ')"
    echo "               (listed in /var/log/anaconda/packages.txt, not installed)"
    posts=$(ls "$KS" | grep -c '^post\.')
    [ "$posts" -gt 0 ] && echo "%post          $posts script(s) recorded, not run: /var/log/anaconda/post-*.sh"
    [ -s "$KS/commands" ] && echo "not simulated  $(tr '\n' ' ' <"$KS/commands")"
    echo "disk           /dev/vda1 ext2, extlinux; kickstart kept in /root/anaconda-ks.cfg"
}

main() {
    : >"$LOG"
    progress 1 starting the installer
    progress 5 reading the kickstart
    read_kickstart
    progress 10 checking the kickstart
    check_kickstart
    progress 20 starting the network
    start_network
    progress 30 reading the install tree
    read_tree
    progress 40 partitioning the disk
    prepare_disk
    progress 55 installing the kernel and the system
    install_files
    progress 70 recording the packages
    record_packages
    progress 80 configuring the system
    configure
    progress 90 installing the boot loader
    install_bootloader
    progress 95 writing the install record
    summary >"$T/etc/brine-install.txt"
    cp "$LOG" "$T/var/log/anaconda/install.log"
    sync
    umount "$T" || fail "cannot unmount /dev/vda1"
    say done
}

# (Tests source this file with BRINE_INSTALL_NO_MAIN set, to try its parts.)
[ -n "$BRINE_INSTALL_NO_MAIN" ] || main
