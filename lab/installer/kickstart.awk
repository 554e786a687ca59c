# The lab installer's kickstart reader (busybox awk): reads a kickstart as Anaconda's pykickstart
# does (shlex words, '#' comments, sections ending in %end), keeps what the lab installer acts on
# and checks it. Run by kickstart.sh:  awk -v out=<folder> -f kickstart.awk <ks>
# It writes one file per fact into <folder>, never evaluated by a shell:
#   url hostname rootpw rootpw.lock timezone timezone.utc lang keyboard bootloader.append
#   packages.options  (one value each)
#   repos (name US baseurl), networks (device US bootproto US ip US netmask US gateway
#   US nameserver), users (name US hash US groups), sshkeys (user US key), packages
#   (one a line), post.N (the Nth %post script, recorded, not run), commands (the other commands,
#   accepted but not simulated), errors (one reason a line; the exit status is 1 when there are any).
# US is the ASCII unit separator (\037): unlike a tab, it keeps empty fields apart in sh's read.

BEGIN {
    split("auth authconfig authselect autopart autostep bootloader btrfs cdrom clearpart cmdline " \
          "device deviceprobe dmraid driverdisk eula fcoe firewall firstboot graphical group halt " \
          "harddrive hmc ignoredisk install interactive iscsi iscsiname keyboard lang liveimg logging " \
          "logvol mediacheck method module mount multipath network nfs nvdimm ostreecontainer " \
          "ostreesetup part partition poweroff raid realm reboot repo reqpart rescue rhsm rootpw " \
          "selinux services shutdown skipx snapshot sshkey sshpw syspurpose text timesource timezone " \
          "updates url user vnc volgroup xconfig zerombr zfcp zipl", names, " ")
    for (i in names) KNOWN[names[i]] = 1
    split("iscrypted plaintext lock allow-ssh utc isUtc nontp noverifyssl install activate " \
          "no-activate nodefroute noipv4 noipv6 nodns leavebootorder nombr extlinux disabled", names, " ")
    for (i in names) FLAG[names[i]] = 1
    split("packages post pre pre-install onerror traceback addon anaconda", names, " ")
    for (i in names) SECTION["%" names[i]] = 1
    section = ""; nposts = 0; nerrors = 0; have_key = 0; US = "\037"
}

function fail(message) { ERR[++nerrors] = "line " NR ": " message }

# Split a line into T[1..ntok] as Python's shlex.split(line, comments=True): quotes, backslash
# escapes, '#' starting a comment outside quotes. Returns the count, or -1 for an open quote.
function words(line,    i, n, c, d, tok, has, quote) {
    ntok = 0; tok = ""; has = 0; quote = ""; n = length(line)
    for (i = 1; i <= n; i++) {
        c = substr(line, i, 1)
        if (quote == "'") { if (c == "'") quote = ""; else tok = tok c; continue }
        if (quote == "\"") {
            d = substr(line, i + 1, 1)
            if (c == "\\" && (d == "\"" || d == "\\")) { tok = tok d; i++ }
            else if (c == "\"") quote = ""
            else tok = tok c
            continue
        }
        if (c == " " || c == "\t" || c == "\r") { if (has) { T[++ntok] = tok; tok = ""; has = 0 }; continue }
        if (c == "#") break
        if (c == "'" || c == "\"") { quote = c; has = 1; continue }
        if (c == "\\" && i < n) { i++; tok = tok substr(line, i, 1); has = 1; continue }
        tok = tok c; has = 1
    }
    if (quote != "") return -1
    if (has) T[++ntok] = tok
    return ntok
}

# Options of the current command into O[name] (flags hold 1; --name=value or --name value) and
# its other words into A[1..nargs].
function options(    i, word, name, eq) {
    split("", O); split("", A); nargs = 0
    for (i = 2; i <= ntok; i++) {
        word = T[i]
        if (substr(word, 1, 2) != "--") { A[++nargs] = word; continue }
        name = substr(word, 3); eq = index(name, "=")
        if (eq) O[substr(name, 1, eq - 1)] = substr(name, eq + 1)
        else if (name in FLAG || i == ntok || substr(T[i + 1], 1, 1) == "-") O[name] = 1
        else O[name] = T[++i]
    }
}

function safe_name(value) { return value ~ /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/ && length(value) <= 64 }
function crypt_hash(value) { return value ~ /^\$[0-9a-z]+\$[^ :]+$/ }

function command(cmd) {
    options()
    if (cmd == "url") {
        if (!("url" in O)) fail("url: only --url=<install tree> is supported")
        else if (O["url"] !~ /^https?:\/\/[^ ]+$/) fail("url: the install tree must be an http:// or https:// URL")
        else URL = O["url"]
    } else if (cmd == "repo") {
        if (!safe_name(O["name"])) fail("repo: --name is missing or not a plain name")
        else if (O["baseurl"] !~ /^https?:\/\/[^ ]+$/) fail("repo " O["name"] ": --baseurl must be an http:// or https:// URL")
        else if (O["name"] in REPO) fail("repo " O["name"] ": given twice")
        else { REPO[O["name"]] = 1; print O["name"] US O["baseurl"] > (out "/repos") }
    } else if (cmd == "network") {
        if ("hostname" in O) HOSTNAME = O["hostname"]
        if ("device" in O || "bootproto" in O || "ip" in O)
            print O["device"] US (O["bootproto"] == "" ? "dhcp" : O["bootproto"]) US O["ip"] US \
                  O["netmask"] US O["gateway"] US O["nameserver"] > (out "/networks")
    } else if (cmd == "rootpw") {
        if (O["lock"]) LOCK = 1
        if (nargs == 0 && LOCK) ROOTPW = ""
        else if (!O["iscrypted"]) fail("rootpw: a plaintext password is refused (use --iscrypted with a crypt hash)")
        else if (!crypt_hash(A[1])) fail("rootpw --iscrypted: the password is not a crypt hash")
        else ROOTPW = A[1]
    } else if (cmd == "user") {
        if (O["name"] !~ /^[a-z_][a-z0-9_-]*$/ || O["name"] == "root") fail("user: --name is missing or not a user name")
        else if (O["name"] in USER) fail("user " O["name"] ": given twice")
        else if ("password" in O && !O["iscrypted"]) fail("user " O["name"] ": a plaintext password is refused (use --iscrypted)")
        else if ("password" in O && !crypt_hash(O["password"])) fail("user " O["name"] ": the password is not a crypt hash")
        else if (O["groups"] !~ /^([a-z_][a-z0-9_-]*(,[a-z_][a-z0-9_-]*)*)?$/) fail("user " O["name"] ": --groups is not a list of group names")
        else { USER[O["name"]] = 1; print O["name"] US O["password"] US O["groups"] > (out "/users") }
    } else if (cmd == "sshkey") {
        if (O["username"] == "") fail("sshkey: --username is missing")
        else if (nargs != 1 || A[1] !~ /^(ssh-|ecdsa-|sk-)[^ ]+ [A-Za-z0-9+\/=]+( .*)?$/) fail("sshkey: not one OpenSSH public key")
        else { KEYUSER[O["username"]] = NR; have_key = 1; print O["username"] US A[1] > (out "/sshkeys") }
    } else if (cmd == "timezone") {
        if (nargs && A[1] !~ /^[A-Za-z0-9_+\/-]+$/) fail("timezone: not a time zone name")
        else TIMEZONE = A[1]
        if (O["utc"] || O["isUtc"]) UTC = "utc"
    } else if (cmd == "lang") LANGUAGE = A[1]
    else if (cmd == "keyboard") KEYBOARD = nargs ? A[1] : ("vckeymap" in O ? O["vckeymap"] : O["xlayouts"])
    else if (cmd == "bootloader") {
        BOOTAPPEND = O["append"]
        if (!(cmd in SEEN)) print cmd > (out "/commands")
    } else if (!(cmd in SEEN)) print cmd > (out "/commands")
    SEEN[cmd] = 1
}

function open_section(word,    i) {
    section = word
    if (word == "%post") { post = out "/post." (++nposts); printf "" > post }
    else if (word == "%packages")
        for (i = 2; i <= ntok; i++) PKGOPTS = PKGOPTS " " T[i]
    else print word " (not run)" > (out "/commands")
}

function section_line(line,    first) {
    first = line; sub(/^[ \t]+/, "", first); sub(/[ \t].*$/, "", first)
    if (first == "%end") { if (section == "%post") close(post); section = ""; return }
    if (first in SECTION) { fail(section " does not end with %end"); section = ""; return 1 }
    if (section == "%post") print line > post
    else if (section == "%packages" && first != "" && substr(first, 1, 1) != "#") {
        sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line); print line > (out "/packages")
    }
}

{ sub(/\r$/, "") }
/[\001-\010\013-\037\177]/ { fail("control characters are refused"); next }
section != "" { if (!section_line($0)) next }
{
    n = words($0)
    if (n < 0) { fail("a quote is not closed"); next }
    if (n == 0) next
    if (T[1] in SECTION) open_section(T[1])
    else if (T[1] == "%include" || T[1] == "%ksappend") fail(T[1] " is not supported by the lab installer")
    else if (substr(T[1], 1, 1) == "%") fail("unknown section " T[1])
    else if (T[1] in KNOWN) command(T[1])
    else fail("unknown kickstart command " T[1])
}

function value(name, text) { if (text != "") print text > (out "/" name) }

END {
    if (section != "") ERR[++nerrors] = section " does not end with %end"
    if (URL == "") ERR[++nerrors] = "no install source (url --url=<install tree>)"
    if (HOSTNAME == "") ERR[++nerrors] = "no host name (network --hostname=<name>)"
    else if (HOSTNAME !~ /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/ || HOSTNAME ~ /\.\.|\.-|-\./ || length(HOSTNAME) > 253)
        ERR[++nerrors] = "network --hostname: not a host name"
    if (ROOTPW == "" && !have_key) ERR[++nerrors] = "no way to log in: neither rootpw --iscrypted nor sshkey"
    for (user in KEYUSER)
        if (user != "root" && !(user in USER)) ERR[++nerrors] = "line " KEYUSER[user] ": sshkey: no user " user
    value("url", URL); value("hostname", HOSTNAME); value("rootpw", ROOTPW); value("timezone", TIMEZONE)
    value("lang", LANGUAGE); value("keyboard", KEYBOARD); value("bootloader.append", BOOTAPPEND)
    value("packages.options", substr(PKGOPTS, 2))
    if (LOCK) value("rootpw.lock", "locked")
    value("timezone.utc", UTC)
    for (i = 1; i <= nerrors; i++) print ERR[i] > (out "/errors")
    exit (nerrors > 0)
}
