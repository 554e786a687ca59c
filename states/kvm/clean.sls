{#- Undo the kvm formula: service stopped, our files removed, packages removed. #}
include:
  - .service.clean
  - .config.clean
  - .tls.clean
  - .docker.clean
  - .package.clean
