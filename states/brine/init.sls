{#- Brine's master side: nginx site, salt-api, websockify, master.d snippets, and the site's
    container registry where brine:master:registry:enabled says so. #}
include:
  - .package
  - .config
  - .service
  - .registry
