{#- Brine's master side: nginx site, salt-api, websockify, master.d snippets. #}
include:
  - .package
  - .config
  - .service
