{#- A Brine cluster node: corosync 3 with knet and encryption, pacemaker with fencing, and shared
    LVM through lvmlockd. Apply only where the site has shared block storage. #}
include:
  - .package
  - .config
  - .service
  - .lvm
  - .fencing
